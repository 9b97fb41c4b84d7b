// reinctl export (declared in run_command.h).
#include "services/reinctl/run_command.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/files/file_util.h"
#include "common/status/status_macros.h"
#include "services/reinctl/command_util.h"

namespace rein::reinctl {
namespace {

namespace fs = std::filesystem;

struct ExportFlags {
  std::string checkpoint;
  std::string out;
};

// The policy folder inside a run checkpoint or a learner checkpoint.
absl::StatusOr<fs::path> PolicyFolder(const fs::path& checkpoint) {
  for (const fs::path& candidate : {checkpoint / "learner" / "policy", checkpoint / "policy"}) {
    if (fs::exists(candidate / "config.json")) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(
      "'", checkpoint.string(), "' holds no policy (looked for learner/policy/config.json and "
      "policy/config.json): is it a Rein checkpoint?"));
}

absl::Status Export(const ExportFlags& flags) {
  ASSIGN_OR_RETURN(const fs::path policy, PolicyFolder(flags.checkpoint));
  if (fs::exists(flags.out)) {
    return absl::AlreadyExistsError(absl::StrCat("'", flags.out, "' exists; not overwriting it"));
  }
  std::error_code error;
  fs::create_directories(fs::absolute(flags.out).parent_path(), error);
  ASSIGN_OR_RETURN(const std::string tmp, files::MakeTempSiblingDir(flags.out));
  fs::copy(policy, tmp, fs::copy_options::recursive | fs::copy_options::overwrite_existing, error);
  absl::Status status =
      error ? absl::InternalError(absl::StrCat("copying ", policy.string(), ": ", error.message()))
            : files::MoveDirIntoPlace(tmp, flags.out, /*replace_marker=*/"");
  if (!status.ok()) fs::remove_all(tmp, error);
  return status;
}

}  // namespace

void AddExportCommand(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* command = app.add_subcommand(
      "export", "Copy a checkpoint's policy out as a Hugging Face folder");
  command->add_option("--checkpoint", flags->checkpoint, "Run or learner checkpoint folder")
      ->required();
  command->add_option("--out", flags->out, "Folder to create")->required();
  command->callback([flags] {
    absl::Status status = Export(*flags);
    if (!status.ok()) {
      std::fprintf(stderr, "reinctl export: %s\n", std::string(status.message()).c_str());
      ExitWith(1);
    }
    std::printf("exported the policy of %s to %s\n", flags->checkpoint.c_str(), flags->out.c_str());
  });
}

}  // namespace rein::reinctl
