// Request paths confined to a service's roots: what is refused (.., absolute paths elsewhere,
// links that point out or nowhere, special files, non-checkpoint folders, a root itself), what
// is accepted, and that a replace through MoveDirIntoPlace touches checkpoints only.
#include "common/files/confined_path.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/files/file_util.h"
#include "common/testing/subprocess.h"

namespace rein::files {
namespace {

namespace fs = std::filesystem;

// A root folder (the run folder) beside a canary folder outside it that nothing may touch.
struct Tree {
  fs::path base = fs::canonical(testing::MakeTempDir("confined-"));
  fs::path root = base / "run";
  fs::path outside = base / "outside";

  Tree() {
    fs::create_directories(root / "checkpoints");
    fs::create_directories(outside);
    std::ofstream(outside / "canary.txt") << "keep me";
  }
  ~Tree() {
    std::error_code error;
    fs::remove_all(base, error);
  }
  std::vector<std::string> roots() const { return {root.string()}; }
  bool CanaryIntact() const {
    const absl::StatusOr<std::string> text = ReadFile((outside / "canary.txt").string());
    return text.ok() && *text == "keep me" &&
           std::distance(fs::directory_iterator(outside), fs::directory_iterator()) == 1;
  }
};

absl::StatusCode CodeOf(absl::string_view path, const Tree& t) {
  return ResolveConfined("directory", path, t.roots()).status().code();
}

TEST_CASE("paths inside the root resolve, relative ones against the root") {
  Tree t;
  CHECK(ResolveConfined("directory", (t.root / "checkpoints/iter-1").string(), t.roots()).value() ==
        (t.root / "checkpoints/iter-1").string());
  CHECK(ResolveConfined("directory", "checkpoints/a/../b", t.roots()).value() ==
        (t.root / "checkpoints/b").string());
  CHECK(ResolveConfined("directory", t.root.string() + "/", t.roots()).value() == t.root.string());
  // A link inside the root that stays inside resolves to its target.
  fs::create_directory_symlink(t.root / "checkpoints", t.root / "latest");
  CHECK(ResolveConfined("directory", "latest/x", t.roots()).value() ==
        (t.root / "checkpoints/x").string());
}

TEST_CASE("'..' escapes, absolute paths elsewhere and links that point out are PERMISSION_DENIED") {
  Tree t;
  CHECK(CodeOf("../outside", t) == absl::StatusCode::kPermissionDenied);
  CHECK(CodeOf((t.root / "checkpoints/../../outside/new").string(), t) ==
        absl::StatusCode::kPermissionDenied);
  CHECK(CodeOf("/etc", t) == absl::StatusCode::kPermissionDenied);
  CHECK(CodeOf(t.outside.string(), t) == absl::StatusCode::kPermissionDenied);
  // A sibling whose name starts like the root's is not under it.
  fs::create_directories(t.base / "run2");
  CHECK(CodeOf((t.base / "run2").string(), t) == absl::StatusCode::kPermissionDenied);
  fs::create_directory_symlink(t.outside, t.root / "escape");
  CHECK(CodeOf("escape", t) == absl::StatusCode::kPermissionDenied);
  CHECK(CodeOf("escape/new/deeper", t) == absl::StatusCode::kPermissionDenied);
  const absl::Status denied = ResolveConfined("directory", "/etc/passwd", t.roots()).status();
  CHECK_THAT(std::string(denied.message()), Catch::StartsWith("directory: '/etc/passwd'"));
  // No roots: nothing is allowed.
  CHECK(ResolveConfined("directory", (t.root / "x").string(), {}).status().code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(t.CanaryIntact());
}

TEST_CASE("malformed paths, dangling links and special files are INVALID_ARGUMENT") {
  Tree t;
  CHECK(CodeOf("", t) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(std::string("check\0points", 12), t) == absl::StatusCode::kInvalidArgument);
  const std::string long_path(kMaxPathBytes + 1, 'a');
  const absl::Status too_long = ResolveConfined("directory", long_path, t.roots()).status();
  CHECK(too_long.code() == absl::StatusCode::kInvalidArgument);
  CHECK(too_long.message().size() < 200);  // quotes a short prefix only
  // A dangling link: where it would lead is not known, so it is refused whatever it names.
  fs::create_directory_symlink(t.outside / "not-yet", t.root / "dangling");
  CHECK(CodeOf("dangling", t) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf("dangling/x", t) == absl::StatusCode::kInvalidArgument);
  CHECK_FALSE(fs::exists(t.outside / "not-yet"));
  fs::create_directory_symlink(t.root / "loop", t.root / "loop");
  CHECK(CodeOf("loop/x", t) == absl::StatusCode::kInvalidArgument);
  // A FIFO, a socket and a device at the path.
  REQUIRE(::mkfifo((t.root / "fifo").c_str(), 0600) == 0);
  CHECK(CodeOf("fifo", t) == absl::StatusCode::kInvalidArgument);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string socket_path = (t.root / "sock").string();
  REQUIRE(socket_path.size() < sizeof(address.sun_path));
  std::copy(socket_path.begin(), socket_path.end(), address.sun_path);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  CHECK(CodeOf("sock", t) == absl::StatusCode::kInvalidArgument);
  ::close(fd);
  fs::create_symlink("/dev/null", t.root / "null");
  CHECK(ResolveConfined("directory", "null", {t.root.string(), "/dev"}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // A plain file in the middle of the path.
  std::ofstream(t.root / "file") << "x";
  CHECK(CodeOf("file/x", t) == absl::StatusCode::kInvalidArgument);
  CHECK(t.CanaryIntact());
}

TEST_CASE("only a checkpoint folder may be replaced, never a root or another folder") {
  Tree t;
  constexpr char kMarker[] = "coordinator.json";
  const auto replaceable = [&](const std::string& path) {
    return ResolveReplaceableDir("directory", path, t.roots(), kMarker).status().code();
  };
  CHECK(replaceable("checkpoints/iter-1") == absl::StatusCode::kOk);  // new
  fs::create_directories(t.root / "checkpoints/iter-2");
  std::ofstream(t.root / "checkpoints/iter-2" / kMarker) << "{}";
  CHECK(replaceable("checkpoints/iter-2") == absl::StatusCode::kOk);
  fs::create_directories(t.root / "data");
  std::ofstream(t.root / "data/prompts.jsonl") << "{}";
  CHECK(replaceable("data") == absl::StatusCode::kFailedPrecondition);
  CHECK(replaceable("checkpoints") == absl::StatusCode::kFailedPrecondition);
  CHECK(replaceable(t.root.string()) == absl::StatusCode::kFailedPrecondition);
  CHECK(replaceable("data/prompts.jsonl") == absl::StatusCode::kFailedPrecondition);
  // A marker that is a link is not a checkpoint's.
  fs::create_directories(t.root / "fake");
  fs::create_symlink(t.outside / "canary.txt", t.root / "fake" / kMarker);
  CHECK(replaceable("fake") == absl::StatusCode::kFailedPrecondition);
  // A root nested in the folder named is refused too.
  CHECK(ResolveReplaceableDir("directory", t.base.string(), {t.base.string(), t.root.string()},
                              kMarker)
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ResolveReadableDir("model_dir", "data", t.roots()).value() == (t.root / "data").string());
  CHECK(ResolveReadableDir("model_dir", "none", t.roots()).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(ResolveReadableDir("model_dir", "data/prompts.jsonl", t.roots()).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("MoveDirIntoPlace replaces a checkpoint folder and refuses any other") {
  Tree t;
  const auto fresh = [&](const std::string& file) {
    const std::string tmp = MakeTempSiblingDir((t.root / "ckpt").string()).value();
    std::ofstream(fs::path(tmp) / file) << "new";
    return tmp;
  };
  const fs::path target = t.root / "ckpt";
  REQUIRE(MoveDirIntoPlace(fresh("manifest.json"), target.string(), "manifest.json").ok());
  std::ofstream(target / "old.bin") << "old";
  REQUIRE(MoveDirIntoPlace(fresh("manifest.json"), target.string(), "manifest.json").ok());
  CHECK_FALSE(fs::exists(target / "old.bin"));  // replaced whole

  // The user's data folder: kept as it was, the temporary folder stays for the caller.
  const fs::path data = t.root / "data";
  fs::create_directories(data);
  std::ofstream(data / "keep.txt") << "data";
  const std::string tmp = fresh("manifest.json");
  CHECK(MoveDirIntoPlace(tmp, data.string(), "manifest.json").code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(fs::exists(data / "keep.txt"));
  CHECK(fs::exists(tmp));
  CHECK(MoveDirIntoPlace(tmp, target.string(), "").code() == absl::StatusCode::kAlreadyExists);
  CHECK(t.CanaryIntact());
}

}  // namespace
}  // namespace rein::files
