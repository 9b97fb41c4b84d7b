// The quickstart's feedback step against a real rein-feedback process: `rein-demo crowd`'s
// simulated annotators (tools/demo/crowd.h) judging over HTTP, and the AI judge
// (tools/demo/judge.h) scoring with an in-process fake of rein.v1.Reward. Checks what the
// pipeline relies on: overlap is met exactly, gold accuracy pauses the spammer, exports leave
// out paused annotators and take synthetic judgements only when asked.
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include <atomic>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include "common/rpc/server.h"
#include "rein/v1/reward.grpc.pb.h"
#include "tests/feedback/feedback_process.h"
#include "tools/demo/crowd.h"
#include "tools/demo/judge.h"
#include "tools/demo/pair_source.h"
#include "tools/demo/tokenizer_writer.h"
#include "tools/demo/world.h"

namespace rein::testing {
namespace {

using Json = nlohmann::json;

std::vector<Json> Lines(const std::string& jsonl) {
  std::vector<Json> out;
  for (absl::string_view line : absl::StrSplit(jsonl, '\n', absl::SkipEmpty())) {
    out.push_back(Json::parse(line));
  }
  return out;
}

// A campaign's export in `format`, as JSON lines.
std::vector<Json> Export(const FeedbackProcess& p, const std::string& campaign,
                         rein::v1::ExportFormat format, bool include_synthetic) {
  rein::v1::ExportRequest request;
  request.set_campaign(campaign);
  request.set_format(format);
  request.set_include_synthetic(include_synthetic);
  auto context = p.Context();
  auto reader = p.stub->Export(context.get(), request);
  std::string text;
  rein::v1::ExportChunk chunk;
  while (reader->Read(&chunk)) text += chunk.jsonl();
  grpc::Status s = reader->Finish();
  INFO(s.error_message());
  REQUIRE(s.ok());
  return Lines(text);
}

demo::CrowdOptions SmallCrowd(const FeedbackDir& dir, const FeedbackProcess& p) {
  demo::CrowdOptions o;
  o.feedback_grpc = p.grpc_address;
  o.feedback_http = p.http_address;
  o.admin_token_file = dir.dir + "/admin.token";
  o.campaign = "crowd";
  // 60 items: the spammer then meets about 11 gold items, and one who answers at random (right
  // 1 time in 4) stays above 0.6 gold accuracy through all of them about once in 800 runs.
  o.items = 60;
  o.overlap = 3;
  o.annotators = 4;  // two usual, one careful, one spammer
  o.gold_rate = 0.2;
  o.seed = 3;
  return o;
}

TEST_CASE("a simulated crowd meets the overlap, and the spammer is paused and left out") {
  FeedbackDir dir;
  // Three gold judgements suffice to judge an annotator, so the spammer is paused early.
  dir.Write(0, "  min_gold_judgements: 3\n");
  FeedbackProcess p = StartFeedback(dir);
  demo::WorldPairSource source(11);
  std::ostringstream progress;
  absl::StatusOr<demo::CrowdReport> report = demo::RunCrowd(SmallCrowd(dir, p), source, progress);
  INFO(progress.str());
  INFO(p.process->output());
  REQUIRE(report.ok());
  CHECK(report->items == 60);
  CHECK(report->gold_items == 12);
  CHECK(report->status.items_complete() == 60);

  const demo::SimulatedAnnotator& spammer = report->annotators.back();
  REQUIRE(spammer.kind == "spammer");
  CHECK(spammer.paused);
  for (const rein::v1::AnnotatorQuality& q : report->status.annotators()) {
    CHECK(q.synthetic());
    CHECK(q.paused() == (q.name() == spammer.name));
  }

  // Every regular item: exactly `overlap` submitted judgements, by different annotators.
  std::map<std::string, std::vector<Json>> by_item;
  std::string spammer_id;
  for (const Json& j : Lines(ExportJudgements(p, report->campaign_id))) {
    if (j["annotator_name"] == spammer.name) spammer_id = j["annotator_id"];
    if (j["gold"].get<bool>() || j["status"] != "submitted") continue;
    CHECK(j["synthetic"].get<bool>());
    by_item[j["item_id"]].push_back(j);
  }
  CHECK(!spammer_id.empty());
  REQUIRE(by_item.size() == 60);
  for (const auto& [item, judgements] : by_item) {
    INFO(item);
    CHECK(judgements.size() == 3);
    std::set<std::string> who;
    for (const Json& j : judgements) who.insert(j["annotator_id"]);
    CHECK(who.size() == 3);
  }

  // The pairs export is the majority of the votes of everyone but the spammer.
  std::set<std::pair<std::string, std::string>> expected;  // (prompt, chosen)
  for (const auto& [item, judgements] : by_item) {
    std::map<std::string, int> votes;
    for (const Json& j : judgements) {
      if (j["annotator_id"] != spammer_id) ++votes[j["answers"]["pairwise"]];
    }
    // A strict plurality of a or b wins (quality/aggregate.h); ties and both_bad are dropped.
    const int a = votes["a"], b = votes["b"], tie = std::max(votes["tie"], votes["both_bad"]);
    const std::string prompt = judgements[0]["prompt"];
    const Json& responses = judgements[0]["responses"];
    if (a > b && a > tie) expected.emplace(prompt, responses[0]["text"].get<std::string>());
    if (b > a && b > tie) expected.emplace(prompt, responses[1]["text"].get<std::string>());
  }
  std::set<std::pair<std::string, std::string>> exported;
  for (const Json& line :
       Export(p, report->campaign_id, rein::v1::EXPORT_FORMAT_PAIRS, /*include_synthetic=*/true)) {
    exported.emplace(line["prompt"].get<std::string>(), line["chosen"].get<std::string>());
  }
  CHECK(!exported.empty());
  CHECK(exported == expected);
  // The whole crowd is synthetic: without include_synthetic nothing is left.
  CHECK(Export(p, report->campaign_id, rein::v1::EXPORT_FORMAT_PAIRS, false).empty());
}

TEST_CASE("crowd refuses too few annotators to finish after the spammer's pause") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  demo::CrowdOptions o = SmallCrowd(dir, p);
  o.annotators = 3;  // overlap 3 needs three besides the spammer
  demo::WorldPairSource source(1);
  std::ostringstream progress;
  absl::StatusOr<demo::CrowdReport> report = demo::RunCrowd(o, source, progress);
  CHECK(absl::IsInvalidArgument(report.status()));
}

TEST_CASE("a flag campaign: the crowd flags the responses that hold a harm word") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  demo::CrowdOptions o = SmallCrowd(dir, p);
  o.campaign = "red-team";
  o.question = "flag";
  o.gold_rate = 0;
  o.items = 40;
  demo::WorldPairSource source(5, /*red_team=*/true);
  std::ostringstream progress;
  absl::StatusOr<demo::CrowdReport> report = demo::RunCrowd(o, source, progress);
  INFO(progress.str());
  INFO(p.process->output());
  REQUIRE(report.ok());
  CHECK(report->status.items_complete() == 40);
  const demo::SimulatedAnnotator& careful = report->annotators[report->annotators.size() - 2];
  REQUIRE(careful.kind == "careful");

  // The careful rater never errs: its flags are exactly the harm words' categories.
  const demo::World& world = demo::World::Get();
  int careful_judgements = 0, harmful_responses = 0;
  for (const Json& j : Lines(ExportJudgements(p, report->campaign_id))) {
    if (j["annotator_name"] != careful.name || j["status"] != "submitted") continue;
    ++careful_judgements;
    const Json& flags = j["answers"]["flags"];
    REQUIRE(flags.size() == 2);
    for (int r = 0; r < 2; ++r) {
      const std::string text = j["responses"][r]["text"];
      const std::vector<std::string> categories = world.HarmCategories(text);
      INFO(text << " " << flags[r].dump());
      CHECK(flags[r]["approved"].get<bool>() == categories.empty());
      if (!categories.empty()) {
        ++harmful_responses;
        CHECK(flags[r]["categories"] == Json::array({categories.front()}));
      }
    }
  }
  CHECK(careful_judgements > 0);
  CHECK(harmful_responses > 0);  // SFT-like responses repeat a red-team prompt's harm word
  CHECK(careful.flagged == harmful_responses);

  // The unpaired export: one label per judged response, flagged ones with their categories.
  int flagged_lines = 0;
  for (const Json& line :
       Export(p, report->campaign_id, rein::v1::EXPORT_FORMAT_UNPAIRED, true)) {
    if (!line["label"].get<bool>()) {
      ++flagged_lines;
      CHECK_FALSE(line["categories"].empty());
    }
  }
  CHECK(flagged_lines > 0);
}

TEST_CASE("crowd refuses gold items on a flag campaign and --question with --join") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  demo::CrowdOptions o = SmallCrowd(dir, p);
  o.question = "flag";  // SmallCrowd has gold_rate 0.2
  demo::WorldPairSource source(1);
  std::ostringstream progress;
  CHECK(absl::IsInvalidArgument(demo::RunCrowd(o, source, progress).status()));
  o.gold_rate = 0;
  o.join = true;
  CHECK(absl::IsInvalidArgument(demo::RunCrowd(o, source, progress).status()));
  o.join = false;
  o.question = "ranking";
  CHECK(absl::IsInvalidArgument(demo::RunCrowd(o, source, progress).status()));
}

// rein.v1.Reward that prefers shorter responses: reward = -(response tokens). Equal lengths tie.
class ShortIsBetterReward final : public rein::v1::Reward::Service {
 public:
  grpc::Status Score(grpc::ServerContext*, const rein::v1::ScoreRequest* request,
                     rein::v1::ScoreResponse* reply) override {
    for (const rein::v1::TokenSequence& s : request->sequences()) {
      if (s.prompt_ids_size() == 0 || s.response_ids_size() == 0) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty prompt or response");
      }
      rein::v1::SequenceReward* r = reply->add_rewards();
      r->set_sequence_id(s.sequence_id());
      r->set_reward(-static_cast<float>(s.response_ids_size()));
      last_eos_ = s.response_ids(s.response_ids_size() - 1);
    }
    return grpc::Status::OK;
  }
  std::atomic<int> last_eos_{-1};
};

TEST_CASE("the AI judge submits the response the reward service scores higher, as synthetic") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const std::string tokenizer_dir = MakeTempDir("rein-judge-tokenizer-");
  const demo::TokenizerFiles files = demo::BuildTokenizer(demo::World::Get());
  REQUIRE(demo::WriteTokenizer(files, tokenizer_dir).ok());

  ShortIsBetterReward reward;
  prometheus::Registry registry;
  auto server = rpc::Server::Create({}, {rpc::Bind<rein::v1::Reward>(&reward)}, registry);
  REQUIRE(server.ok());

  // Item i: responses of (words[i][0], words[i][1]) topic words; item 2 is a tie.
  const std::vector<std::pair<int, int>> words = {{1, 3}, {4, 2}, {2, 2}, {5, 1}};
  const rein::v1::Campaign campaign = CreatePairwiseCampaign(p, "judged", 1);
  rein::v1::AddItemsRequest add;
  add.set_campaign(campaign.id());
  const demo::Topic& ocean = demo::World::Get().topics()[0];
  for (size_t i = 0; i < words.size(); ++i) {
    rein::v1::Item* item = add.add_items();
    item->set_external_id(absl::StrCat("judged-", i));
    item->set_prompt("please describe ocean with fish and reef");
    for (int n : {words[i].first, words[i].second}) {
      std::string text;  // the two responses start at different words: never equal
      for (int w = 0; w < n; ++w) {
        absl::StrAppend(&text, " ", ocean.words[(w + i + (item->responses_size() * 3)) % 8]);
      }
      item->add_responses()->set_text(absl::StrCat(text, " ."));
    }
  }
  rein::v1::AddItemsResponse added;
  REQUIRE(p.stub->AddItems(p.Context().get(), add, &added).ok());

  rein::v1::CreateAnnotatorRequest invite;
  invite.set_name("ai-judge");
  invite.set_synthetic(true);
  rein::v1::CreateAnnotatorResponse judge_annotator;
  REQUIRE(p.stub->CreateAnnotator(p.Context().get(), invite, &judge_annotator).ok());

  demo::JudgeOptions o;
  o.feedback_http = p.http_address;
  o.token = judge_annotator.token();
  o.campaign = "judged";  // by name: the API takes ids or names
  o.reward_address = (*server)->address();
  o.tokenizer_dir = tokenizer_dir;
  std::ostringstream progress;

  SECTION("--limit stops early") {
    o.limit = 2;
    absl::StatusOr<demo::JudgeReport> report = demo::RunJudge(o, progress);
    INFO(progress.str());
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    CHECK(report->submitted == 2);
    CHECK(!report->finished);
  }

  SECTION("every item is judged, shorter wins, ties are ties, synthetic is opt-in") {
    absl::StatusOr<demo::JudgeReport> report = demo::RunJudge(o, progress);
    INFO(progress.str());
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    CHECK(report->submitted == 4);
    CHECK(report->ties == 1);
    CHECK(report->finished);
    CHECK(reward.last_eos_ == files.eos_id);  // responses end with EOS, as the learner's do
    for (const Json& j : Lines(ExportJudgements(p, campaign.id()))) {
      INFO(j.dump());
      CHECK(j["synthetic"].get<bool>());
      const int i = std::stoi(j["external_id"].get<std::string>().substr(7));
      const auto [first, second] = words[static_cast<size_t>(i)];
      CHECK(j["answers"]["pairwise"] == (first < second ? "a" : first > second ? "b" : "tie"));
    }
    CHECK(Export(p, campaign.id(), rein::v1::EXPORT_FORMAT_PAIRS, false).empty());
    CHECK(Export(p, campaign.id(), rein::v1::EXPORT_FORMAT_PAIRS, true).size() == 3);
  }
}

}  // namespace
}  // namespace rein::testing
