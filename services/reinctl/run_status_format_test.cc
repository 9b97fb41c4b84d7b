#include "services/reinctl/run_status_format.h"

#include <catch2/catch.hpp>

namespace rein::reinctl {
namespace {

rein::v1::RunStatus Collecting() {
  rein::v1::RunStatus status;
  status.set_state(rein::v1::RUN_STATE_RUNNING);
  status.set_iteration(40);
  status.set_total_iterations(120);
  rein::v1::RoundStatus* round = status.mutable_round();
  round->set_round(2);
  round->set_total_rounds(3);
  round->set_phase(rein::v1::ROUND_PHASE_COLLECTING);
  round->set_judgements(140);
  round->set_judgements_needed(200);
  round->set_deadline_seconds_left(200);
  round->set_reward_model_version(1);
  round->set_reward_model_accuracy(0.8125);
  rein::v1::VersionRating* sft = round->add_ratings();
  sft->set_policy_version(0);
  sft->set_games(212);
  rein::v1::VersionRating* current = round->add_ratings();
  current->set_policy_version(40);
  current->set_elo(85);
  current->set_elo_low(41);
  current->set_elo_high(131);
  current->set_games(212);
  return status;
}

TEST_CASE("a run with rounds shows its round, phase and judgements on the progress line") {
  const std::string line = FormatRunStatus(Collecting(), /*with_ratings=*/false);
  CHECK(line ==
        "RUNNING  round 2/3 collecting 140/200 judgements (3m20s left)  RM v1 acc 0.812  "
        "iter 40/120");
}

TEST_CASE("reinctl status adds the round's Elo table of the versions judged") {
  const std::string text = FormatRunStatus(Collecting());
  CHECK(text.find("\n  versions judged (Elo, 95% interval): v0 +0 [+0, +0] (212 games) "
                  "v40 +85 [+41, +131] (212 games)") != std::string::npos);
}

TEST_CASE("a run without rounds shows no round") {
  rein::v1::RunStatus status;
  status.set_state(rein::v1::RUN_STATE_RUNNING);
  status.set_iteration(3);
  status.set_total_iterations(10);
  CHECK(FormatRunStatus(status) == "RUNNING  iter 3/10");
}

}  // namespace
}  // namespace rein::reinctl
