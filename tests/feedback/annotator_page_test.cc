// The annotator page in headless Chromium (Debian's), driven by puppeteer-core (pinned in
// tests/feedback/browser/package.json, installed by scripts/setup.sh) against a real
// rein-feedback: real clicks and keys through full judgements, the shortcuts, the XSS cases and
// the phone layout (tests/feedback/browser/annotator_page_test.mjs does the driving). The
// screenshots stay in <build>/test-artifacts/annotator-page/.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/feedback/feedback_process.h"

namespace rein::testing {
namespace {

constexpr char kXssScript[] = "<script>window.__xss=1</script>";
constexpr char kXssImg[] = "<img src=x onerror=\"window.__xss=1\">";

std::string Missing() {
  if (access("/usr/bin/chromium", X_OK) != 0) return "no /usr/bin/chromium (scripts/setup.sh installs it)";
  if (access("/usr/bin/node", X_OK) != 0) return "no node (scripts/setup.sh installs it)";
  if (!std::filesystem::exists(SourcePath("tests/feedback/browser/node_modules/puppeteer-core"))) {
    return "puppeteer-core is not installed in tests/feedback/browser (run scripts/setup.sh)";
  }
  return "";
}

void AddItems(const FeedbackProcess& p, const std::string& campaign, int k,
              const std::vector<std::vector<std::string>>& responses) {
  rein::v1::AddItemsRequest add;
  add.set_campaign(campaign);
  for (size_t i = 0; i < responses.size(); ++i) {
    rein::v1::Item* item = add.add_items();
    item->set_prompt("Question " + std::to_string(i) + ": how do I **boil** an egg?");
    for (int r = 0; r < k; ++r) item->add_responses()->set_text(responses[i][r]);
  }
  rein::v1::AddItemsResponse added;
  grpc::Status s = p.stub->AddItems(p.Context().get(), add, &added);
  INFO(s.error_message());
  REQUIRE(s.ok());
}

std::string Create(const FeedbackProcess& p, const std::string& name,
                   const std::vector<rein::v1::QuestionType>& questions) {
  rein::v1::CreateCampaignRequest create;
  create.set_name(name);
  create.set_guidelines_markdown("# Guidelines\n\nPrefer **correct** and *kind* answers.\n\n- be brief\n- be safe");
  for (auto q : questions) create.add_questions(q);
  create.set_overlap(1);
  rein::v1::Campaign campaign;
  grpc::Status s = p.stub->CreateCampaign(p.Context().get(), create, &campaign);
  REQUIRE(s.ok());
  return campaign.id();
}

TEST_CASE("the annotator page in headless Chromium: a full judgement by mouse and keys, XSS shown as text, phone width") {
  const std::string missing = Missing();
  if (!missing.empty()) {
    WARN("annotator page test skipped: " << missing);
    return;
  }
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const std::string pairwise = Create(p, "page-pairwise",
                                      {rein::v1::QUESTION_TYPE_PAIRWISE, rein::v1::QUESTION_TYPE_RATING,
                                       rein::v1::QUESTION_TYPE_FLAG, rein::v1::QUESTION_TYPE_COMMENT});
  AddItems(p, pairwise, 2,
           {{std::string("Put it in water. ") + kXssScript, std::string("Boil it. ") + kXssImg},
            {"Ten minutes in boiling water.", "Microwave it **whole**."},
            {"Gently, for 7 minutes.", "`boil(egg)`"}});
  const std::string ranking = Create(p, "page-ranking",
                                     {rein::v1::QUESTION_TYPE_RANKING, rein::v1::QUESTION_TYPE_CORRECTION});
  AddItems(p, ranking, 3, {{"First.", "Second " + std::string(kXssImg), "Third."},
                           {"A", "B", "C"}});
  const std::string token = Invite(p, "page-tester");
  const std::string artifacts =
      std::filesystem::path(BuiltBinary("rein-feedback")).parent_path().parent_path().string() +
      "/test-artifacts/annotator-page";
  std::filesystem::create_directories(artifacts);
  auto run = RunCommand({"/usr/bin/node", SourcePath("tests/feedback/browser/annotator_page_test.mjs"),
                         "--url", "http://" + p.http_address, "--invite", token, "--screenshot",
                         artifacts},
                        "", absl::Seconds(120));
  REQUIRE(run.ok());
  INFO(run->stdout_text << run->stderr_text);
  CHECK(run->exit_code == 0);
  CHECK(run->stdout_text.find("FAIL") == std::string::npos);
  // What the page submitted is in the store, in item order, with the showing recorded.
  int submitted = 0;
  for (const std::string& campaign : {pairwise, ranking}) {
    std::istringstream lines(ExportJudgements(p, campaign));
    std::string line;
    while (std::getline(lines, line)) {
      nlohmann::json j = nlohmann::json::parse(line);
      if (j["status"] != "submitted") continue;
      ++submitted;
      CHECK(j["annotator_name"] == "page-tester");
      CHECK(j["seconds_spent"].get<double>() > 0);
      CHECK(!j["shown_order"].empty());
    }
  }
  CHECK(submitted >= 2);
  CHECK(std::filesystem::exists(artifacts));
}

}  // namespace
}  // namespace rein::testing
