// `reinctl feedback ...`: campaign management on a rein-feedback server through its admin gRPC
// service (proto/rein/v1/feedback.proto).
//
//   create      --name N --questions pairwise,flag,comment [--overlap 3] [--gold-rate 0.1]
//               [--guidelines FILE.md]                            prints the campaign id
//   add-items   --campaign C --file items.jsonl                   (format: feedback_items.h)
//   sample      --campaign C --prompts prompts.jsonl (--policy DIR | --rollout HOST:PORT
//               --tokenizer DIR) [--k 2] [--max-new-tokens 64] [--temperature 1.0]
//               [--top-p 1.0] [--seed 1] [--limit N]              (feedback_sample.h)
//   invite      --name alice [--role annotator|expert|admin] [--synthetic]
//   status      --campaign C [--json]
//   export      --campaign C --format pairs|rankings|ratings|unpaired|sft|judgements --out FILE
//               [--aggregation majority|reliability] [--include-synthetic]
//               [--synthetic-weight W] [--min-agreement X]
//   import      --campaign C --file F [--as-gold | --prior-annotator NAME]
//   annotators, pause --annotator A, unpause --annotator A
//   campaigns, close / pause-campaign / resume-campaign --campaign C
//
// Every subcommand takes --feedback HOST:PORT (required), --admin-token-file PATH (default
// ./feedback-admin.token, where rein-feedback writes a token it generates) and --timeout
// (deadline of each call, default 30s), plus --tls-ca/--tls-cert/--tls-key for a TLS server.
// Campaigns and annotators are named by id or name. Results go to stdout, progress of long runs
// to stderr; an error is one line on stderr ("reinctl feedback <command>: ...", naming the RPC,
// the server and the status code, or the file and line of bad input) and exit status 1.
//
// add-items and sample store in batches (500 items per AddItems call; sample adds every 10
// prompts), so a failure keeps the batches before it. Every item carries an external id (given,
// else a hash of its line or of prompt + seed), so running the same command again adds only
// what is missing. export writes to a temporary file renamed into place once the stream is
// complete; import sends the file in one call and refuses files over 64 MiB.
#ifndef REIN_SERVICES_REINCTL_FEEDBACK_COMMAND_H_
#define REIN_SERVICES_REINCTL_FEEDBACK_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

// Adds the `feedback` command group to `app`.
void AddFeedbackCommands(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_FEEDBACK_COMMAND_H_
