// The sampling half of `reinctl feedback sample`: K responses to each prompt of a JSON Lines
// file, drawn from a policy folder run in this process (LibTorch, through common/model) or from
// a rein-rollout service (rein.v1.Rollout/Generate), and turned into feedback items with their
// provenance. Storing them is the caller's job (feedback_command.cc); this is the only part of
// `reinctl feedback` that links LibTorch.
//
// Prompts: {"prompt": "..."} or {"messages": [...]} per line, chat-formatted when the tokenizer
// has a chat format Rein knows (as data.prompt_format auto does for a run). A chat prompt
// becomes an item with the messages as its context and the last user turn as its prompt.
//
// Reproducibility: an item's external id is StableId("s-", "<seed>\n<prompt>") (the prompt's
// text, or its messages as JSON), so sampling the same file with the same --seed again adds
// nothing twice; response j of a prompt is sampled with its own seed, derived from that hash and
// j, and recorded in its provenance (one rollout "prompt" per response with n = 1, so that the
// recorded seed alone reproduces it).
#ifndef REIN_SERVICES_REINCTL_FEEDBACK_SAMPLE_H_
#define REIN_SERVICES_REINCTL_FEEDBACK_SAMPLE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/rpc/options.h"
#include "rein/v1/feedback.pb.h"

namespace rein::reinctl {

struct SampleOptions {
  // Prompts file (JSON Lines). Required.
  std::string prompts_path;
  // Exactly one source: a Hugging Face policy folder, or a rollout service's host:port.
  std::string policy_dir;
  std::string rollout_address;
  // Where the policy runs: "cpu" (default) or "cuda" / "cuda:N". Only with policy_dir.
  std::string device = "cpu";
  // TLS and token for the rollout service. Default: plaintext, no token.
  rpc::ClientOptions rollout_client;
  // Deadline of one Generate call (a batch of prompts). Default: 10 minutes.
  absl::Duration generate_timeout = absl::Minutes(10);
  // Tokenizer folder. Default: policy_dir; required with rollout_address.
  std::string tokenizer_dir;
  // Responses per prompt, 2..16 (what an item holds). Default: 2.
  int k = 2;
  // Most tokens per response. Default: 64.
  int max_new_tokens = 64;
  // Sampling temperature; 0 = greedy. Default: 1.
  double temperature = 1.0;
  // Nucleus threshold in (0, 1]. Default: 1 (off).
  double top_p = 1.0;
  // Base seed; changing it samples new responses (and new items). Default: 1.
  uint64_t seed = 1;
  // Sample the first `limit` prompts only; 0 = all. Default: 0.
  int64_t limit = 0;
  // Policy version recorded for responses of policy_dir (a rollout reports its own). Default: 0.
  int64_t policy_version = 0;
  // Prompts per batch handed to the sink (and per Generate call). Default: 10.
  int batch_prompts = 10;
};

// Receives the items of one batch in prompt order; `done` of `total` prompts are sampled once
// it returns. An error stops sampling and is returned by SampleItems.
using ItemSink =
    std::function<absl::Status(std::vector<rein::v1::Item> items, size_t done, size_t total)>;

// Reads and tokenizes every prompt first (an error names the file and line, and nothing is
// sampled), then samples batch by batch, handing each to `sink`. Errors: INVALID_ARGUMENT for
// bad options or prompts, NOT_FOUND for missing files, the model's or the rollout's errors
// (naming the address) otherwise.
absl::Status SampleItems(const SampleOptions& options, const ItemSink& sink);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_FEEDBACK_SAMPLE_H_
