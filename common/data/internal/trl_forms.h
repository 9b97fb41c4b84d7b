// TRL's dataset forms (https://huggingface.co/docs/trl/dataset_formats), rewritten into the
// forms training_examples.h reads, so that a TRL dataset loads as it is:
//   conversational: "prompt" as a list of messages becomes "messages" (the context); "chosen",
//     "rejected" and "completion" as a list holding one assistant message become its content;
//   implicit prompt: "chosen" and "rejected" with no "prompt" (or "messages") share their
//     start, which becomes the prompt: the leading messages both lists share, each side then
//     being one assistant message; or, for plain strings, their longest common prefix (a space
//     that ends it stays with the responses, as TRL's extract_prompt leaves it).
// Records already in Rein's forms come back unchanged.
#ifndef REIN_COMMON_DATA_INTERNAL_TRL_FORMS_H_
#define REIN_COMMON_DATA_INTERNAL_TRL_FORMS_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/data/internal/jsonl.h"

namespace rein::data::internal {

// INVALID_ARGUMENT naming the line and key for a conversational field that is not one
// assistant message, or an implicit-prompt pair that shares no start (or nothing after it).
absl::StatusOr<Json> NormalizeTrlRecord(const Json& record, const std::string& path, int line);

}  // namespace rein::data::internal

#endif  // REIN_COMMON_DATA_INTERNAL_TRL_FORMS_H_
