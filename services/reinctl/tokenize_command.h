// `reinctl tokenize` and `reinctl detokenize`: JSON Lines filters over a Hugging Face tokenizer
// folder (tokenizer.json, or vocab.json + merges.txt).
//
//   reinctl tokenize --tokenizer DIR [--add-special-tokens]
//       stdin  {"text": "Hello"}        stdout {"ids": [9707]}
//   reinctl detokenize --tokenizer DIR [--skip-special-tokens]
//       stdin  {"ids": [9707]}          stdout {"text": "Hello"}
//
// One output line per input line, in order; stdout is flushed whenever stdin has no more input
// buffered, so the commands also work as co-processes. The first bad line (malformed JSON, a
// missing or mistyped key, an id that is not a token) stops the command with a message on stderr
// naming its line number and exit status 1; lines before it have been answered.
#ifndef REIN_SERVICES_REINCTL_TOKENIZE_COMMAND_H_
#define REIN_SERVICES_REINCTL_TOKENIZE_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

// Adds the `tokenize` and `detokenize` subcommands to `app`.
void AddTokenizeCommands(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_TOKENIZE_COMMAND_H_
