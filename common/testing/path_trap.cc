#include "common/testing/path_trap.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <system_error>

#include "common/testing/subprocess.h"

namespace rein::testing {
namespace {

namespace fs = std::filesystem;

std::string Contents(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

PathTrap::PathTrap()
    : base(fs::canonical(MakeTempDir("rein-path-trap-"))),
      run(base / "run"),
      outside(base / "outside") {
  fs::create_directories(run / "data");
  std::ofstream(run / "data" / "prompts.jsonl") << "mine";
  fs::create_directories(outside);
  std::ofstream(outside / "canary.txt") << "keep me";
  fs::create_directory_symlink(outside, run / "escape");
  ::mkfifo((run / "fifo").c_str(), 0600);
}

PathTrap::~PathTrap() {
  std::error_code error;
  fs::remove_all(base, error);
}

std::set<std::string> PathTrap::OutsideEntries() const {
  std::set<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(outside, error)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

bool PathTrap::Intact() const {
  struct stat st {};
  return Contents(outside / "canary.txt") == "keep me" &&
         Contents(run / "data" / "prompts.jsonl") == "mine" &&
         ::lstat((run / "fifo").c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

}  // namespace rein::testing
