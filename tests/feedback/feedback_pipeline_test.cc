// rein-feedback among the rest of Rein, every piece a real process: it registers with a real
// rein-coordinator, and the AI judge (`rein-demo judge`) annotates over HTTPS with a real
// rein-reward scoring each pair with a reward model.
#include <csignal>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/model/causal_lm.h"
#include "common/tokenizer/tokenizer.h"
#include "rein/v1/reward.grpc.pb.h"
#include "tests/feedback/feedback_process.h"
#include "tests/services/worker_process.h"

namespace rein::testing {
namespace {

using Json = nlohmann::json;

TEST_CASE("rein-feedback registers with a real coordinator as a feedback worker") {
  const std::string dir = MakeTempDir("rein-feedback-coordinator-");
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"one\"}\n";
  std::ofstream(dir + "/run.yaml")
      << "run:\n  iterations: 1\n"
      << "data:\n  prompts: " << dir << "/prompts.jsonl\n  prompt_format: text\n"
      << "model:\n  tokenizer: " << SourcePath("tests/data/tokenizer/tiny_gpt2") << "\n";
  auto coordinator = Subprocess::Start({BuiltBinary("rein-coordinator"),
                                        "--config=" + dir + "/run.yaml", "--port=0"});
  REQUIRE(coordinator.ok());
  auto coordinator_address =
      (*coordinator)->WaitForLine(rpc::kListeningMarker, absl::Seconds(60));
  INFO((*coordinator)->output());
  REQUIRE(coordinator_address.ok());
  auto coordinator_metrics = (*coordinator)->WaitForLine(rpc::kMetricsMarker, absl::Seconds(60));
  REQUIRE(coordinator_metrics.ok());
  const std::vector<std::string> metrics_hp = absl::StrSplit(*coordinator_metrics, ':');
  REQUIRE(metrics_hp.size() == 2);

  FeedbackDir feedback_dir;
  feedback_dir.Write(0);
  auto feedback = Subprocess::Start({BuiltBinary("rein-feedback"), "--config=" + feedback_dir.config,
                                     "--port=0", "--coordinator=" + *coordinator_address});
  REQUIRE(feedback.ok());
  auto feedback_address = (*feedback)->WaitForLine(rpc::kListeningMarker, absl::Seconds(60));
  INFO((*feedback)->output());
  REQUIRE(feedback_address.ok());
  // The worker registers once its server is up, on its own schedule: nothing to await but the
  // coordinator's count of feedback workers, read until it shows (bounded).
  std::optional<double> feedback_workers;
  for (int i = 0; i < 600 && feedback_workers.value_or(0) < 1; ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(100));
    auto page = HttpGet("127.0.0.1", std::stoi(metrics_hp[1]), "/metrics");
    REQUIRE(page.ok());
    auto parsed = ParsePrometheusText(page->body);
    REQUIRE(parsed.ok());
    feedback_workers = parsed->Find("rein_coordinator_workers", {{"role", "feedback"}});
  }
  CHECK(feedback_workers == 1.0);

  REQUIRE((*feedback)->Signal(SIGTERM).ok());
  CHECK((*feedback)->Wait(absl::Seconds(60)).value_or(-1) == 0);
  REQUIRE((*coordinator)->Signal(SIGTERM).ok());
  CHECK((*coordinator)->Wait(absl::Seconds(60)).ok());
}

// tiny-llama's trunk with a fresh scalar head, saved as a reward model folder.
std::string MakeRewardModelDir() {
  auto trunk = model::CausalLM::Load(SourcePath("tests/data/models/tiny-llama"),
                                     {.heads = model::Heads::kNone});
  REQUIRE(trunk.ok());
  REQUIRE((*trunk)->AddScalarHead(/*seed=*/11).ok());
  const std::string dir = MakeTempDir("rein-judge-rm-") + "/rm";
  REQUIRE((*trunk)->Save(dir).ok());
  return dir;
}

// What rein-reward says of `response` after `prompt`, tokenized as the judge does.
float Reward(const WorkerProcess& reward, const tokenizer::Tokenizer& tok,
             const std::string& prompt, const std::string& response) {
  auto prompt_ids = tok.Encode(prompt);
  auto response_ids = tok.Encode(response);
  REQUIRE(prompt_ids.ok());
  REQUIRE(response_ids.ok());
  const std::optional<tokenizer::TokenId> eos = tok.special_ids().eos;
  REQUIRE(eos.has_value());
  response_ids->push_back(*eos);
  rein::v1::ScoreRequest request;
  rein::v1::TokenSequence* s = request.add_sequences();
  s->mutable_prompt_ids()->Add(prompt_ids->begin(), prompt_ids->end());
  s->mutable_response_ids()->Add(response_ids->begin(), response_ids->end());
  rein::v1::ScoreResponse reply;
  auto stub = rein::v1::Reward::NewStub(reward.channel);
  REQUIRE(stub->Score(rpc::NewCallContext(reward.client).get(), request, &reply).ok());
  REQUIRE(reply.rewards_size() == 1);
  return reply.rewards(0).reward();
}

TEST_CASE("the AI judge picks what a real rein-reward scores higher, over HTTPS, as synthetic") {
  const std::string tokenizer_dir = SourcePath("tests/data/tokenizer/tiny_gpt2");
  const std::string config = WriteConfig(
      "model:\n  policy: " + SourcePath("tests/data/models/tiny-llama") +
      "\n  reward_model: " + MakeRewardModelDir() + "\n  tokenizer: " + tokenizer_dir + "\n");
  WorkerProcess reward = StartWorker("rein-reward", config, "rein.v1.Reward");

  FeedbackDir dir;
  dir.tls = true;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"the cat sat", "a dog ran far away"}, {"hello world", "world hello there"},
      {"low water", "we go home now"},       {"one two", "two one three"}};
  const rein::v1::Campaign campaign = CreatePairwiseCampaign(p, "judged", 1);
  rein::v1::AddItemsRequest add;
  add.set_campaign(campaign.id());
  for (size_t i = 0; i < pairs.size(); ++i) {
    rein::v1::Item* item = add.add_items();
    item->set_external_id(absl::StrCat("pair-", i));
    item->set_prompt("say something");
    item->add_responses()->set_text(pairs[i].first);
    item->add_responses()->set_text(pairs[i].second);
  }
  rein::v1::AddItemsResponse added;
  REQUIRE(p.stub->AddItems(p.Context().get(), add, &added).ok());
  rein::v1::CreateAnnotatorRequest invite;
  invite.set_name("ai-judge");
  invite.set_synthetic(true);
  rein::v1::CreateAnnotatorResponse judge;
  REQUIRE(p.stub->CreateAnnotator(p.Context().get(), invite, &judge).ok());

  auto run = Subprocess::Start(
      {BuiltBinary("rein-demo"), "judge", "--feedback-http",
       absl::StrCat("https://127.0.0.1:", p.http_port), "--feedback-ca", CertPath("ca.pem"),
       "--token", judge.token(), "--campaign", "judged", "--reward", reward.address,
       "--tokenizer", tokenizer_dir});
  REQUIRE(run.ok());
  auto exit_code = (*run)->Wait(absl::Seconds(120));
  INFO((*run)->output());
  REQUIRE(exit_code.ok());
  REQUIRE(*exit_code == 0);
  CHECK(absl::StrContains((*run)->output(), "judge: 4 judgements"));

  auto tok = tokenizer::Tokenizer::FromDirectory(tokenizer_dir);
  REQUIRE(tok.ok());
  std::string exported = ExportJudgements(p, campaign.id());
  int judged = 0;
  for (absl::string_view line : absl::StrSplit(exported, '\n', absl::SkipEmpty())) {
    const Json j = Json::parse(line);
    INFO(j.dump());
    CHECK(j["synthetic"].get<bool>());
    const size_t i = std::stoul(j["external_id"].get<std::string>().substr(5));
    const float first = Reward(reward, **tok, "say something", pairs[i].first);
    const float second = Reward(reward, **tok, "say something", pairs[i].second);
    // Answers are exported in item order: "a" is the first response whatever the showing.
    CHECK(j["answers"]["pairwise"] == (first > second ? "a" : first < second ? "b" : "tie"));
    ++judged;
  }
  CHECK(judged == 4);
  StopWorker(reward);
}

}  // namespace
}  // namespace rein::testing
