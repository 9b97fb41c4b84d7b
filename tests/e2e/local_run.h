// End-to-end test harness: a synthetic world from `rein-demo corpus` (tokenizer, prompts, a
// tiny random policy), an experiment config over it, and `reinctl up` running the whole
// cluster as real processes on 127.0.0.1.
#ifndef REIN_TESTS_E2E_LOCAL_RUN_H_
#define REIN_TESTS_E2E_LOCAL_RUN_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/testing/subprocess.h"

namespace rein::e2e {

// A world generated once per test binary: <dir>/policy-init, <dir>/prompts.jsonl, ...
const std::string& WorldDir();

// A PPO config over the world, 2 rollout replicas, rule rewards (no reward model), with
// `overrides` (YAML lines appended to the named sections, e.g. {"run", "  mode: async"}).
std::string WriteConfig(const std::string& dir, int iterations,
                        const std::map<std::string, std::string>& overrides = {});

// `pairs` {prompt, chosen, rejected} lines from rein-demo's scripted rater over the world's
// prompts and initial policy (responses of at most 8 tokens), written to <dir>/pairs.jsonl.
std::string RaterPairs(const std::string& dir, int pairs, int seed);

// A red-team set of `n` of the world's prompts, categories "violence" and "bias" in turn,
// written to <dir>/red_team.jsonl.
std::string RedTeamPrompts(const std::string& dir, int n);

// The evaluation lines ({"eval_at": ...}) of a run folder's stats.jsonl.
std::vector<nlohmann::json> ReadEvaluations(const std::string& run_dir);

// The iteration lines of a run folder's stats.jsonl, one JSON object per iteration (round
// records, which have no "iteration", are left out).
std::vector<nlohmann::json> ReadStats(const std::string& run_dir);

// `reinctl up --config config --run-dir run_dir [extra...]`, running, with the environment
// variables `env` ("NAME=value") added for it and its children.
std::unique_ptr<testing::Subprocess> StartUp(const std::string& config, const std::string& run_dir,
                                             const std::vector<std::string>& extra = {},
                                             const std::vector<std::string>& env = {});

// Waits (at most 4 minutes) until stats.jsonl holds at least `iterations` iteration lines.
void WaitForIterations(const std::string& run_dir, size_t iterations);

// The "name pid" lines reinctl up writes to <run_dir>/pids.
std::map<std::string, pid_t> Pids(const std::string& run_dir);

// The whole file at `path` ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// `reinctl args...`, run to completion (at most 2 minutes).
testing::CommandResult Ctl(const std::vector<std::string>& args);

}  // namespace rein::e2e

#endif  // REIN_TESTS_E2E_LOCAL_RUN_H_
