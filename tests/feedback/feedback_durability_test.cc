// rein-feedback under many concurrent annotators, and killed with SIGKILL in the middle of that
// load: after a restart every judgement the API acknowledged is in the store, none twice, and
// no item has more than its overlap.
#include <csignal>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/feedback/feedback_process.h"

namespace rein::testing {
namespace {

using Json = nlohmann::json;

struct Stored {
  std::map<std::string, int> judgement_count;               // judgement id -> lines
  std::map<std::string, std::set<std::string>> annotators;  // item id -> submitted by
  std::map<std::string, int> per_item;                      // item id -> submitted
};

Stored ReadStored(const std::string& jsonl) {
  Stored s;
  std::istringstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    Json j = Json::parse(line);
    if (j["status"] != "submitted") continue;
    ++s.judgement_count[j["judgement_id"].get<std::string>()];
    const std::string item = j["item_id"];
    s.annotators[item].insert(j["annotator_id"].get<std::string>());
    ++s.per_item[item];
  }
  return s;
}

std::vector<std::string> ReadAcks(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) ids.push_back(Json::parse(line)["judgement_id"]);
  return ids;
}

std::vector<std::string> LoadArgs(const FeedbackProcess& p, const FeedbackDir& dir, int annotators,
                                  int items, int overlap, double seconds,
                                  const std::string& acks) {
  return {BuiltBinary("rein-feedback-load"), "--grpc", p.grpc_address, "--http", p.http_address,
          "--admin-token-file", dir.dir + "/admin.token", "--annotators",
          std::to_string(annotators), "--items", std::to_string(items), "--overlap",
          std::to_string(overlap), "--seconds", std::to_string(seconds), "--acks", acks};
}

TEST_CASE("40 concurrent annotators exhaust a campaign: exactly N judgements per item") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const std::string acks = dir.dir + "/acks.jsonl";
  auto load = RunCommand(LoadArgs(p, dir, 40, 200, 3, 120, acks), "", absl::Seconds(180));
  REQUIRE(load.ok());
  INFO(load->stdout_text << load->stderr_text);
  REQUIRE(load->exit_code == 0);
  Json summary = Json::parse(load->stdout_text);
  CHECK(summary["judgements"] == 600);
  const std::string campaign = summary["campaign"];
  Stored stored = ReadStored(ExportJudgements(p, campaign));
  CHECK(stored.per_item.size() == 200);
  for (const auto& [item, n] : stored.per_item) {
    CHECK(n == 3);
    CHECK(stored.annotators[item].size() == 3);
  }
  CHECK(ReadAcks(acks).size() == 600);
}

TEST_CASE("kill -9 during concurrent submissions loses no acknowledged judgement") {
  FeedbackDir dir;
  const int http_port = FreePort();
  dir.Write(http_port);
  FeedbackProcess p = StartFeedback(dir);
  const std::string acks = dir.dir + "/acks.jsonl";
  auto load = Subprocess::Start(LoadArgs(p, dir, 50, 5000, 2, 8, acks));
  REQUIRE(load.ok());
  // Wait (bounded) until judgements are flowing, then kill the server without warning.
  bool flowing = false;
  for (int i = 0; i < 600 && !flowing; ++i) {
    rein::v1::ListCampaignsResponse campaigns;
    if (p.stub->ListCampaigns(p.Context().get(), {}, &campaigns).ok() &&
        campaigns.campaigns_size() > 0) {
      rein::v1::GetCampaignStatusRequest request;
      request.set_campaign(campaigns.campaigns(0).id());
      rein::v1::CampaignStatus s;
      flowing = p.stub->GetCampaignStatus(p.Context().get(), request, &s).ok() &&
                s.judgements_submitted() >= 300;
    }
    // Polling the store: there is no event to await from another process's progress.
    if (!flowing) absl::SleepFor(absl::Milliseconds(20));
  }
  REQUIRE(flowing);
  REQUIRE(p.process->Signal(SIGKILL).ok());
  auto killed = p.process->Wait(absl::Seconds(10));
  REQUIRE(killed.ok());
  CHECK(*killed == 128 + SIGKILL);
  // Restart on the same HTTP port; the load client reconnects and carries on.
  FeedbackProcess again = StartFeedback(dir);
  CHECK(again.http_port == http_port);
  auto done = (*load)->Wait(absl::Seconds(120));
  REQUIRE(done.ok());
  INFO((*load)->output());
  REQUIRE(*done == 0);
  Json summary = Json::parse((*load)->output());
  const std::string campaign = summary["campaign"];
  std::vector<std::string> acknowledged = ReadAcks(acks);
  REQUIRE(acknowledged.size() > 300);
  Stored stored = ReadStored(ExportJudgements(again, campaign));
  for (const std::string& id : acknowledged) {
    INFO(id);
    CHECK(stored.judgement_count[id] == 1);  // present, and once
  }
  for (const auto& [item, n] : stored.per_item) {
    CHECK(n <= 2);
    CHECK(stored.annotators[item].size() == static_cast<size_t>(n));
  }
  // Acknowledgements were distinct too: a retried submission got its first id back.
  CHECK(std::set<std::string>(acknowledged.begin(), acknowledged.end()).size() ==
        acknowledged.size());
}

}  // namespace
}  // namespace rein::testing
