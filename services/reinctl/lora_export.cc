#include "services/reinctl/lora_export.h"

#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/model/causal_lm.h"
#include "common/status/status_macros.h"

namespace rein::reinctl {

absl::Status WriteMergedPolicy(const std::string& policy, const std::string& out) {
  namespace fs = std::filesystem;
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> lm, model::CausalLM::Load(policy));
  if (lm->lora()) RETURN_IF_ERROR(lm->MergeLora());
  RETURN_IF_ERROR(lm->Save(out));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    std::error_code error;
    const fs::path source = fs::path(policy) / name;
    if (!fs::is_regular_file(source, error)) continue;
    fs::copy_file(source, fs::path(out) / name, error);
    if (error) {
      return absl::InternalError(absl::StrCat("copying ", source.string(), ": ", error.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace rein::reinctl
