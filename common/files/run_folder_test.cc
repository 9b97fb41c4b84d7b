#include "common/files/run_folder.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/testing/subprocess.h"

namespace rein::files {
namespace {

namespace fs = std::filesystem;

void MakeCheckpoint(const fs::path& run, const std::string& name, bool complete) {
  fs::create_directories(run / "checkpoints" / name / "learner");
  if (complete) std::ofstream(run / "checkpoints" / name / "coordinator.json") << "{}";
}

TEST_CASE("resume takes a checkpoint, a run folder's newest complete checkpoint, or starts fresh") {
  const fs::path run = testing::MakeTempDir("run-folder");
  // A run folder without checkpoints: a fresh start (the first run of a requeued job).
  CHECK(ResolveResume(run.string()).value() == "");
  CHECK(ResolveResume(run.string(), "learner").value() == "");
  CHECK(NewestCheckpoint(run.string()) == "");

  MakeCheckpoint(run, "iter-2", true);
  MakeCheckpoint(run, "iter-10", true);   // newest by number, not by name
  MakeCheckpoint(run, "iter-12", false);  // being written when the job was killed
  MakeCheckpoint(run, "iter-x", true);    // not a checkpoint name
  const std::string newest = (run / "checkpoints" / "iter-10").string();
  CHECK(NewestCheckpoint(run.string()) == newest);
  CHECK(ResolveResume(run.string()).value() == newest);
  CHECK(ResolveResume(run.string(), "learner").value() == newest + "/learner");

  // A checkpoint folder is taken as it is, also an older one.
  const std::string older = (run / "checkpoints" / "iter-2").string();
  CHECK(ResolveResume(older).value() == older);
  CHECK(ResolveResume(older, "learner").value() == older + "/learner");

  CHECK(ResolveResume("").value() == "");
  // A typo is an error, not a silent fresh start.
  absl::StatusOr<std::string> missing = ResolveResume((run / "no-such").string());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  fs::remove_all(run);
}

}  // namespace
}  // namespace rein::files
