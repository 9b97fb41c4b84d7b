// `reinctl model score` and `reinctl model generate`: JSON Lines filters over a Hugging Face
// model folder (config.json + safetensors).
//
//   reinctl model score --model DIR [--logits]
//       stdin  {"input_ids": [1, 2, 3]}
//       stdout {"logprobs": [-1.2, -0.3]}   log-prob of each next token (n - 1 values);
//              with --logits also "logits": [[...vocab...] per token]; a model with a scalar
//              head (reward model, critic) also gives "values" per token and "value" at the
//              last token.
//   reinctl model generate --model DIR [--tokenizer DIR] [--greedy] [--max-new-tokens N]
//                          [--temperature T] [--top-k K] [--top-p P] [--seed S] ...
//       stdin  {"input_ids": [...]} or, with --tokenizer, {"text": "..."}; optional "seed".
//       stdout {"output_ids": [...], "logprobs": [...], "finish_reason": "stop"|"length"}
//              (+ "text" with --tokenizer)
//
// Line i (from 0) samples with seed S + i unless it gives its own "seed", so outputs do not
// depend on --batch-size. All input is read and checked before the model runs; a bad line
// (malformed JSON, a missing or mistyped key, an id outside the vocabulary) stops the command
// with a message naming its line number and exit status 1, without output.
#ifndef REIN_SERVICES_REINCTL_MODEL_COMMAND_H_
#define REIN_SERVICES_REINCTL_MODEL_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

// Adds the `model` command group (score, generate) to `app`.
void AddModelCommands(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_MODEL_COMMAND_H_
