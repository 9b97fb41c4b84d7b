// reinctl export (declared in run_command.h).
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/files/file_util.h"
#include "common/files/run_folder.h"
#include "common/status/status_macros.h"
#include "services/reinctl/command_util.h"
#include "services/reinctl/lora_export.h"
#include "services/reinctl/run_command.h"

namespace rein::reinctl {
namespace {

namespace fs = std::filesystem;

struct ExportFlags {
  std::string source;  // run folder or checkpoint
  std::string out;
  bool lora_adapter = false;  // a LoRA policy's PEFT adapter folder instead of merged weights
};

constexpr char kAdapterConfig[] = "adapter_config.json";

// The policy folder of `source`: a run folder (its newest complete checkpoint), a run
// checkpoint (learner/policy) or a learner checkpoint (policy).
absl::StatusOr<fs::path> PolicyFolder(const fs::path& source) {
  std::error_code error;
  if (!fs::is_directory(source, error)) {
    return absl::NotFoundError(absl::StrCat("'", source.string(), "' is not a folder"));
  }
  fs::path checkpoint = source;
  if (fs::is_directory(source / "checkpoints", error)) {
    checkpoint = files::NewestCheckpoint(source.string());
    if (checkpoint.empty()) {
      return absl::NotFoundError(
          absl::StrCat("the run folder '", source.string(), "' holds no complete checkpoint yet"));
    }
  }
  for (const fs::path& candidate : {checkpoint / "learner" / "policy", checkpoint / "policy"}) {
    if (fs::exists(candidate / "config.json", error)) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("'", checkpoint.string(),
                   "' holds no policy (looked for learner/policy/config.json and "
                   "policy/config.json): is it a Rein run folder or checkpoint?"));
}

// Checkpoints are private to the run (files 0600, folders 0700); an export is meant for others
// (a model hub, another user's job): files rw-r--r--, folders rwxr-xr-x, less the umask.
absl::Status MakeReadable(const fs::path& root) {
  const mode_t mask = umask(0);
  umask(mask);
  std::error_code error;
  auto apply = [&](const fs::path& path, mode_t mode) {
    fs::permissions(path, static_cast<fs::perms>(mode & ~mask), fs::perm_options::replace, error);
    return !error;
  };
  if (!apply(root, 0755))
    return absl::InternalError(absl::StrCat(root.string(), ": ", error.message()));
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_symlink(error)) continue;
    if (!apply(it->path(), it->is_directory(error) ? 0755 : 0644)) break;
  }
  if (error) return absl::InternalError(absl::StrCat(root.string(), ": ", error.message()));
  return absl::OkStatus();
}

// Fills the empty folder `tmp` with what the export of `policy` holds: the folder as it is; for
// a LoRA-trained policy, its base with the adapters merged in, or (flags.lora_adapter) only
// PEFT's adapter files and the tokenizer's.
absl::Status FillExport(const fs::path& policy, const ExportFlags& flags, const std::string& tmp) {
  std::error_code error;
  const bool lora = fs::exists(policy / kAdapterConfig, error);
  if (flags.lora_adapter && !lora) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", policy.string(), "' is not a LoRA-trained policy (no ", kAdapterConfig,
                     "); export it without --lora-adapter"));
  }
  if (lora && !flags.lora_adapter) {
    fs::remove(tmp, error);  // Save creates the folder itself
    return WriteMergedPolicy(policy.string(), tmp);
  }
  if (!lora) {
    fs::copy(policy, tmp, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
             error);
  } else {
    for (const char* name :
         {kAdapterConfig, "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
      if (fs::exists(policy / name, error)) {
        fs::copy_file(policy / name, fs::path(tmp) / name, error);
      }
      if (error) break;
    }
  }
  if (error) {
    return absl::InternalError(absl::StrCat("copying ", policy.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<fs::path> Export(const ExportFlags& flags) {
  ASSIGN_OR_RETURN(const fs::path policy, PolicyFolder(flags.source));
  if (fs::exists(flags.out)) {
    return absl::AlreadyExistsError(absl::StrCat("'", flags.out, "' exists; not overwriting it"));
  }
  std::error_code error;
  fs::create_directories(fs::absolute(flags.out).parent_path(), error);
  ASSIGN_OR_RETURN(const std::string tmp, files::MakeTempSiblingDir(flags.out));
  absl::Status status = FillExport(policy, flags, tmp);
  if (status.ok()) status = MakeReadable(tmp);
  if (status.ok()) status = files::MoveDirIntoPlace(tmp, flags.out, /*replace_marker=*/"");
  if (!status.ok()) {
    fs::remove_all(tmp, error);
    return status;
  }
  return policy;
}

}  // namespace

void AddExportCommand(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* command = app.add_subcommand(
      "export", "Copy a run's policy out as a Hugging Face folder anyone can read");
  command
      ->add_option("source,--checkpoint", flags->source,
                   "Run folder (its newest checkpoint), run checkpoint or learner checkpoint")
      ->required();
  command->add_option("--out", flags->out, "Folder to create")->required();
  command->add_flag("--lora-adapter", flags->lora_adapter,
                    "For a learner.lora run: write PEFT's adapter folder (adapter_config.json, "
                    "adapter_model.safetensors) instead of the base with the adapters merged in");
  command->callback([flags] {
    absl::StatusOr<fs::path> policy = Export(*flags);
    if (!policy.ok()) {
      std::fprintf(stderr, "reinctl export: %s\n", std::string(policy.status().message()).c_str());
      ExitWith(1);
    }
    std::printf("exported %s to %s\n", policy->string().c_str(), flags->out.c_str());
  });
}

}  // namespace rein::reinctl
