// The LibTorch half of `reinctl export` for a LoRA-trained policy (a policy folder that holds
// PEFT's adapter files beside its base weights): the base with its adapters folded in.
#ifndef REIN_SERVICES_REINCTL_LORA_EXPORT_H_
#define REIN_SERVICES_REINCTL_LORA_EXPORT_H_

#include <string>

#include "absl/status/status.h"

namespace rein::reinctl {

// Loads `policy` with its adapters, merges them (W += alpha / rank * B A) and saves the result
// as a plain Hugging Face folder `out` (which must not exist), with the policy's tokenizer files.
absl::Status WriteMergedPolicy(const std::string& policy, const std::string& out);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_LORA_EXPORT_H_
