// rein-feedback as a real process, through its HTTP API and admin gRPC API: a full judgement,
// browser sessions with CSRF, and hostile or malformed requests on every endpoint — each gets
// the right status with a JSON error naming the field, and the process keeps serving.
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"

#include "tests/feedback/feedback_process.h"

namespace rein::testing {
namespace {

using Json = nlohmann::json;

httplib::Headers Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// The error object of a JSON error reply (fails the test if the body is not one).
Json ErrorOf(const httplib::Result& r) {
  REQUIRE(r);
  Json body = Json::parse(r->body, nullptr, false);
  INFO(r->body);
  REQUIRE(body.is_object());
  REQUIRE(body.contains("error"));
  return body["error"];
}

TEST_CASE("a judgement through the HTTP API is stored in item order with its showing") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const std::string campaign = MakePairwiseCampaign(p, "one", 1, 1);
  const std::string token = Invite(p, "alice");
  auto http = p.Http();
  auto me = http->Get("/api/v1/me", Bearer(token));
  REQUIRE(me);
  REQUIRE(me->status == 200);
  CHECK(Json::parse(me->body)["campaigns"][0]["quota"] == 1);
  auto next = http->Post("/api/v1/campaigns/" + campaign + "/next", Bearer(token), "", "application/json");
  REQUIRE(next);
  REQUIRE(next->status == 200);
  Json task = Json::parse(next->body)["task"];
  CHECK(!task.contains("gold"));
  CHECK(!task["item"].contains("id"));
  // Choose whichever response says "second": its item index is 1 whatever the showing.
  const bool second_on_left = task["item"]["responses"][0]["text"] == "second 0";
  Json body = {{"answers", {{"pairwise", second_on_left ? "a" : "b"}}}, {"seconds_spent", 3.5}};
  auto submit = http->Post("/api/v1/tasks/" + task["lease_id"].get<std::string>() + "/submit",
                           Bearer(token), body.dump(), "application/json");
  REQUIRE(submit);
  INFO(submit->body);
  REQUIRE(submit->status == 200);
  auto none = http->Post("/api/v1/campaigns/" + campaign + "/next", Bearer(token), "", "application/json");
  REQUIRE(none);
  CHECK(none->status == 204);
  const std::string exported = ExportJudgements(p, campaign);
  Json line = Json::parse(exported.substr(0, exported.find('\n')));
  INFO(exported);
  CHECK(line["answers"]["pairwise"] == "b");
  CHECK(line["seconds_spent"] == 3.5);
  CHECK(line["shown_order"].size() == 2);
  // Status and metrics see it.
  rein::v1::GetCampaignStatusRequest status_request;
  status_request.set_campaign(campaign);
  rein::v1::CampaignStatus status;
  REQUIRE(p.stub->GetCampaignStatus(p.Context().get(), status_request, &status).ok());
  CHECK(status.judgements_submitted() == 1);
  CHECK(status.items_complete() == 1);
  CHECK(status.pairwise_decisive() == 1);
  REQUIRE(status.annotators_size() == 1);
  CHECK(status.annotators(0).name() == "alice");
  const std::string page = p.MetricsPage();
  CHECK(page.find("rein_feedback_judgements_total{status=\"submitted\",synthetic=\"false\"} 1") !=
        std::string::npos);
  CHECK(page.find("rein_feedback_items_complete{campaign=\"one\"} 1") != std::string::npos);
  CHECK(page.find("rein_feedback_http_requests_total") != std::string::npos);
}

TEST_CASE("browser sessions: invite login sets an HttpOnly cookie and state changes need CSRF") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const std::string campaign = MakePairwiseCampaign(p, "csrf", 2, 1);
  const std::string token = Invite(p, "bob");
  auto http = p.Http();
  auto bad_login = http->Post("/api/v1/login", Json{{"token", "nope"}}.dump(), "application/json");
  REQUIRE(bad_login);
  CHECK(bad_login->status == 401);
  CHECK(ErrorOf(bad_login)["code"] == "UNAUTHENTICATED");
  auto login = http->Post("/api/v1/login", Json{{"token", token}}.dump(), "application/json");
  REQUIRE(login);
  REQUIRE(login->status == 200);
  const std::string cookie = login->get_header_value("Set-Cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(cookie.find(token) == std::string::npos);  // the session is not the invite token
  const std::string session = cookie.substr(0, cookie.find(';'));
  const std::string csrf = Json::parse(login->body)["csrf_token"];
  httplib::Headers with_cookie = {{"Cookie", session}};
  auto me = http->Get("/api/v1/me", with_cookie);
  REQUIRE(me);
  CHECK(me->status == 200);
  const std::string next_path = "/api/v1/campaigns/" + campaign + "/next";
  auto forged = http->Post(next_path, with_cookie, "", "application/json");
  REQUIRE(forged);
  CHECK(forged->status == 403);
  CHECK(ErrorOf(forged)["code"] == "PERMISSION_DENIED");
  with_cookie.emplace("X-Rein-CSRF", csrf);
  auto ok = http->Post(next_path, with_cookie, "", "application/json");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  auto logout = http->Post("/api/v1/logout", with_cookie, "", "application/json");
  REQUIRE(logout);
  CHECK(logout->status == 200);
  auto after = http->Get("/api/v1/me", with_cookie);
  REQUIRE(after);
  CHECK(after->status == 401);
}

TEST_CASE("with server.tls the page, API and invite links are HTTPS and the cookie is Secure") {
  FeedbackDir dir;
  dir.tls = true;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const std::string campaign = MakePairwiseCampaign(p, "tls", 1, 1);
  rein::v1::CreateAnnotatorRequest request;
  request.set_name("tess");
  rein::v1::CreateAnnotatorResponse invited;
  REQUIRE(p.stub->CreateAnnotator(p.Context().get(), request, &invited).ok());
  CHECK(absl::StartsWith(invited.invite_url(), "https://127.0.0.1:"));

  auto https = p.Http();
  auto page = https->Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  auto login = https->Post("/api/v1/login", Json{{"token", invited.token()}}.dump(),
                           "application/json");
  REQUIRE(login);
  REQUIRE(login->status == 200);
  CHECK(login->get_header_value("Set-Cookie").find("; Secure") != std::string::npos);
  auto next = https->Post("/api/v1/campaigns/" + campaign + "/next",
                          Bearer(invited.token()), "", "application/json");
  REQUIRE(next);
  CHECK(next->status == 200);
  // Plain HTTP on the same port gets no reply: the token would otherwise cross in clear.
  httplib::Client plain("127.0.0.1", p.http_port);
  plain.set_read_timeout(std::chrono::seconds(5));
  CHECK_FALSE(plain.Get("/api/v1/me", Bearer(invited.token())));
}

TEST_CASE("roles: expert campaigns refuse annotators, admins read status and pause over HTTP") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  const rein::v1::Campaign campaign = CreatePairwiseCampaign(p, "experts-only", 1, rein::v1::ANNOTATOR_ROLE_EXPERT);
  CHECK(campaign.min_role() == rein::v1::ANNOTATOR_ROLE_EXPERT);
  rein::v1::AddItemsRequest add;
  add.set_campaign(campaign.id());
  for (int i = 0; i < 2; ++i) {
    rein::v1::Item* item = add.add_items();
    item->set_prompt(absl::StrCat("prompt ", i));
    item->add_responses()->set_text("left");
    item->add_responses()->set_text("right");
  }
  rein::v1::AddItemsResponse added;
  REQUIRE(p.stub->AddItems(p.Context().get(), add, &added).ok());
  const std::string annotator = Invite(p, "ann", rein::v1::ANNOTATOR_ROLE_ANNOTATOR);
  const std::string expert = Invite(p, "exp", rein::v1::ANNOTATOR_ROLE_EXPERT);
  const std::string admin = Invite(p, "boss", rein::v1::ANNOTATOR_ROLE_ADMIN);
  auto http = p.Http();
  const std::string next = "/api/v1/campaigns/experts-only/next";

  // The annotator neither sees nor gets the campaign; the expert does.
  auto me = http->Get("/api/v1/me", Bearer(annotator));
  REQUIRE(me);
  CHECK(Json::parse(me->body)["campaigns"].empty());
  auto refused = http->Post(next, Bearer(annotator), "", "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 403);
  CHECK(ErrorOf(refused)["code"] == "PERMISSION_DENIED");
  auto expert_me = http->Get("/api/v1/me", Bearer(expert));
  REQUIRE(expert_me);
  CHECK(Json::parse(expert_me->body)["campaigns"].size() == 1);
  auto task = http->Post(next, Bearer(expert), "", "application/json");
  REQUIRE(task);
  REQUIRE(task->status == 200);
  const std::string lease = Json::parse(task->body)["task"]["lease_id"];
  auto submitted = http->Post("/api/v1/tasks/" + lease + "/submit", Bearer(expert),
                              Json{{"answers", {{"pairwise", "a"}}}}.dump(), "application/json");
  REQUIRE(submitted);
  REQUIRE(submitted->status == 200);

  // Only the admin reads the status report and pauses people.
  const std::string status_path = "/api/v1/admin/campaigns/experts-only/status";
  for (const std::string& token : {annotator, expert}) {
    auto denied = http->Get(status_path, Bearer(token));
    REQUIRE(denied);
    CHECK(denied->status == 403);
    CHECK(ErrorOf(denied)["code"] == "PERMISSION_DENIED");
  }
  auto status = http->Get(status_path, Bearer(admin));
  REQUIRE(status);
  REQUIRE(status->status == 200);
  Json report = Json::parse(status->body);
  CHECK(report["campaign"]["name"] == "experts-only");
  CHECK(report["judgements_submitted"] == 1);
  CHECK(report["annotators"][0]["name"] == "exp");
  auto people = http->Get("/api/v1/admin/annotators", Bearer(admin));
  REQUIRE(people);
  REQUIRE(people->status == 200);
  CHECK(Json::parse(people->body)["annotators"].size() == 3);
  auto missing = http->Get("/api/v1/admin/campaigns/nope/status", Bearer(admin));
  REQUIRE(missing);
  CHECK(missing->status == 404);

  auto pause_by_expert = http->Post("/api/v1/admin/annotators/ann/pause", Bearer(expert), "",
                                    "application/json");
  REQUIRE(pause_by_expert);
  CHECK(pause_by_expert->status == 403);
  auto paused = http->Post("/api/v1/admin/annotators/exp/pause", Bearer(admin), "",
                           "application/json");
  REQUIRE(paused);
  REQUIRE(paused->status == 200);
  CHECK(Json::parse(paused->body)["annotator"]["paused"] == true);
  auto after = http->Post(next, Bearer(expert), "", "application/json");
  REQUIRE(after);
  CHECK(after->status == 403);
  auto unpaused = http->Post("/api/v1/admin/annotators/exp/unpause", Bearer(admin), "",
                             "application/json");
  REQUIRE(unpaused);
  CHECK(unpaused->status == 200);
  auto again = http->Post(next, Bearer(expert), "", "application/json");
  REQUIRE(again);
  CHECK(again->status == 200);

  // A browser session of the admin still needs the CSRF header to change anything.
  auto login = http->Post("/api/v1/login", Json{{"token", admin}}.dump(), "application/json");
  REQUIRE(login);
  const std::string cookie = login->get_header_value("Set-Cookie");
  httplib::Headers session = {{"Cookie", cookie.substr(0, cookie.find(';'))}};
  auto forged = http->Post("/api/v1/admin/annotators/ann/pause", session, "", "application/json");
  REQUIRE(forged);
  CHECK(forged->status == 403);
  session.emplace("X-Rein-CSRF", Json::parse(login->body)["csrf_token"].get<std::string>());
  auto with_csrf = http->Post("/api/v1/admin/annotators/ann/pause", session, "", "application/json");
  REQUIRE(with_csrf);
  CHECK(with_csrf->status == 200);
}

// Campaign `name`: six items pairing a v1 and a v2 response (alternating sides), judged by the
// annotator with `token`, who prefers v2 five times out of six.
void JudgeVersions(const FeedbackProcess& p, const std::string& name, const std::string& token) {
  const rein::v1::Campaign campaign = CreatePairwiseCampaign(p, name, 1);
  rein::v1::AddItemsRequest add;
  add.set_campaign(campaign.id());
  for (int i = 0; i < 6; ++i) {
    rein::v1::Item* item = add.add_items();
    item->set_prompt(absl::StrCat("prompt ", i));
    // Round 2's response (v2) against round 1's (v1), on alternating sides of the item.
    for (int version : {i % 2 == 0 ? 1 : 2, i % 2 == 0 ? 2 : 1}) {
      rein::v1::ItemResponse* r = item->add_responses();
      r->set_text(absl::StrCat("answer of v", version));
      r->mutable_provenance()->set_policy_version(version);
    }
  }
  rein::v1::AddItemsResponse added;
  REQUIRE(p.stub->AddItems(p.Context().get(), add, &added).ok());
  auto http = p.Http();
  for (int i = 0; i < 6; ++i) {
    auto next = http->Post("/api/v1/campaigns/" + name + "/next", Bearer(token), "",
                           "application/json");
    REQUIRE(next);
    REQUIRE(next->status == 200);
    const Json task = Json::parse(next->body)["task"];
    const bool v2_left = task["item"]["responses"][0]["text"] == "answer of v2";
    const std::string pick = i == 0 ? (v2_left ? "b" : "a") : (v2_left ? "a" : "b");
    auto submit = http->Post("/api/v1/tasks/" + task["lease_id"].get<std::string>() + "/submit",
                             Bearer(token), Json{{"answers", {{"pairwise", pick}}}}.dump(),
                             "application/json");
    REQUIRE(submit);
    REQUIRE(submit->status == 200);
  }
}

rein::v1::CampaignStatus StatusOf(const FeedbackProcess& p, const std::string& campaign,
                                  bool include_synthetic = false) {
  rein::v1::GetCampaignStatusRequest request;
  request.set_campaign(campaign);
  request.set_include_synthetic(include_synthetic);
  rein::v1::CampaignStatus status;
  REQUIRE(p.stub->GetCampaignStatus(p.Context().get(), request, &status).ok());
  return status;
}

TEST_CASE("the status rates policy versions from judgements between their responses") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  JudgeVersions(p, "versions", Invite(p, "rater"));
  const rein::v1::CampaignStatus status = StatusOf(p, "versions");
  REQUIRE(status.versions_size() == 2);
  CHECK(status.versions(0).policy_version() == 1);
  CHECK(status.versions(0).elo() == 0);
  CHECK(status.versions(1).policy_version() == 2);
  CHECK(status.versions(1).games() == 6);
  CHECK(status.versions(1).wins() == 5);
  CHECK(status.versions(1).elo() > 100);  // 5 of 6, pulled in a little by the prior
  CHECK(status.versions(1).elo_low() <= status.versions(1).elo());
  CHECK(status.versions(1).elo_high() >= status.versions(1).elo());
  const std::string page = p.MetricsPage();
  CHECK(page.find("rein_feedback_version_elo{campaign=\"versions\",policy_version=\"2\"}") !=
        std::string::npos);
}

TEST_CASE("a synthetic annotator's judgements rate versions only when the request includes them") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  rein::v1::CreateAnnotatorRequest bot;
  bot.set_name("simulated-rater");
  bot.set_synthetic(true);
  rein::v1::CreateAnnotatorResponse created;
  REQUIRE(p.stub->CreateAnnotator(p.Context().get(), bot, &created).ok());
  JudgeVersions(p, "bot-versions", created.token());
  CHECK(StatusOf(p, "bot-versions").versions_size() == 0);
  const rein::v1::CampaignStatus with_bot = StatusOf(p, "bot-versions", true);
  REQUIRE(with_bot.versions_size() == 2);
  CHECK(with_bot.versions(1).policy_version() == 2);
  CHECK(with_bot.versions(1).wins() == 5);
  // The people's gauge is not fed synthetic votes.
  CHECK(p.MetricsPage().find("campaign=\"bot-versions\",policy_version") == std::string::npos);
}

TEST_CASE("hostile and malformed requests get JSON errors naming the field, never a crash") {
  FeedbackDir dir;
  dir.Write(0, "  max_request_bytes: 4096\n");
  FeedbackProcess p = StartFeedback(dir);
  const std::string campaign = MakePairwiseCampaign(p, "hostile", 3, 1);
  const std::string token = Invite(p, "eve");
  auto http = p.Http();
  const std::string next_path = "/api/v1/campaigns/" + campaign + "/next";

  SECTION("no or unknown credentials on every endpoint") {
    for (const std::string& path :
         {std::string("/api/v1/me"), "/api/v1/campaigns/" + campaign,
          "/api/v1/admin/campaigns/" + campaign + "/status", std::string("/api/v1/admin/annotators")}) {
      auto r = http->Get(path);
      REQUIRE(r);
      CHECK(r->status == 401);
      CHECK(ErrorOf(r)["code"] == "UNAUTHENTICATED");
    }
    for (const std::string& path : {next_path, std::string("/api/v1/tasks/ls_x/submit"),
                                    std::string("/api/v1/tasks/ls_x/skip"),
                                    std::string("/api/v1/admin/annotators/eve/pause")}) {
      auto r = http->Post(path, Bearer("forged"), "{}", "application/json");
      REQUIRE(r);
      CHECK(r->status == 401);
    }
    auto draft = http->Put("/api/v1/tasks/ls_x/draft", "{}", "application/json");
    REQUIRE(draft);
    CHECK(draft->status == 401);
  }

  auto next = http->Post(next_path, Bearer(token), "", "application/json");
  REQUIRE(next);
  REQUIRE(next->status == 200);
  const std::string lease = Json::parse(next->body)["task"]["lease_id"];
  const std::string submit_path = "/api/v1/tasks/" + lease + "/submit";
  auto submit = [&](const std::string& body) {
    return http->Post(submit_path, Bearer(token), body, "application/json");
  };

  SECTION("bodies that are not what the endpoint takes") {
    struct Case {
      std::string body;
      std::string field;
    };
    const std::vector<Case> cases = {
        {"{not json", "body"},
        {"[1, 2]", "body"},
        {R"({"answers": {"pairwise": 5}})", "answers.pairwise"},
        {R"({"answers": {"pairwise": "c"}})", "answers.pairwise"},
        {R"({"answers": {}})", "answers.pairwise"},
        {R"({"answers": {"pairwise": "a", "ratings": [3, 4]}})", "answers.ratings"},
        {R"({"answers": {"pairwise": "a"}, "seconds_spent": -1})", "seconds_spent"},
        {R"({"answers": {"pairwise": "a"}, "admin": true})", "admin"},
        {R"({"seconds_spent": 1})", "answers"},
        {std::string(40, '[') + std::string(40, ']'), "body"},
    };
    for (const Case& c : cases) {
      INFO(c.body);
      auto r = submit(c.body);
      REQUIRE(r);
      CHECK(r->status == 400);
      Json error = ErrorOf(r);
      CHECK(error["code"] == "INVALID_ARGUMENT");
      CHECK(error["field"] == c.field);
    }
    // Nothing of the above was stored; the lease still takes a good submission.
    auto good = submit(R"({"answers": {"pairwise": "tie"}})");
    REQUIRE(good);
    CHECK(good->status == 200);
  }

  SECTION("oversized bodies, unknown leases and paths") {
    auto big = submit(std::string(8192, ' '));
    REQUIRE(big);
    CHECK(big->status == 413);
    auto lost = http->Post("/api/v1/tasks/ls_0000000000000000/submit", Bearer(token),
                           R"({"answers": {"pairwise": "a"}})", "application/json");
    REQUIRE(lost);
    CHECK(lost->status == 409);
    CHECK(ErrorOf(lost)["code"] == "FAILED_PRECONDITION");
    auto weird = http->Post("/api/v1/tasks/%00%ff/submit", Bearer(token), "{}", "application/json");
    REQUIRE(weird);
    CHECK(weird->status == 404);
    auto unknown_campaign =
        http->Post("/api/v1/campaigns/cp_nothere/next", Bearer(token), "", "application/json");
    REQUIRE(unknown_campaign);
    CHECK(unknown_campaign->status == 404);
    // An admin path with a hostile name is no route at all; an annotator's token is no admin's.
    auto hostile_admin = http->Post("/api/v1/admin/annotators/%27%3B%20DROP/pause", Bearer(token),
                                    "", "application/json");
    REQUIRE(hostile_admin);
    CHECK(hostile_admin->status == 404);
    auto not_admin = http->Post("/api/v1/admin/annotators/eve/unpause", Bearer(token), "",
                                "application/json");
    REQUIRE(not_admin);
    CHECK(not_admin->status == 403);
  }

  // Whatever happened above, the process still serves.
  auto health = http->Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("admin gRPC: token required, bad items named, nothing stored from a bad batch") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  {
    rpc::ClientOptions anonymous;
    auto channel = rpc::CreateChannel(p.grpc_address, anonymous);
    REQUIRE(channel.ok());
    auto stub = rein::v1::Feedback::NewStub(*channel);
    rein::v1::ListCampaignsResponse reply;
    auto context = rpc::NewCallContext(anonymous, absl::Seconds(10));
    CHECK(stub->ListCampaigns(context.get(), {}, &reply).error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
  }
  rein::v1::CreateCampaignRequest create;
  create.set_name("bad");
  create.add_questions(static_cast<rein::v1::QuestionType>(42));
  rein::v1::Campaign campaign;
  grpc::Status s = p.stub->CreateCampaign(p.Context().get(), create, &campaign);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("questions[0]") != std::string::npos);
  const std::string id = MakePairwiseCampaign(p, "good", 1, 2);
  rein::v1::AddItemsRequest add;
  add.set_campaign(id);
  rein::v1::Item* fine = add.add_items();
  fine->set_prompt("p");
  fine->add_responses()->set_text("a");
  fine->add_responses()->set_text("b");
  rein::v1::Item* bad = add.add_items();
  bad->set_prompt("p");
  bad->add_responses()->set_text("only one");
  rein::v1::AddItemsResponse added;
  s = p.stub->AddItems(p.Context().get(), add, &added);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("items[1].responses") != std::string::npos);
  rein::v1::GetCampaignStatusRequest status_request;
  status_request.set_campaign("good");
  rein::v1::CampaignStatus status;
  s = p.stub->GetCampaignStatus(p.Context().get(), status_request, &status);
  REQUIRE(s.ok());
  CHECK(status.items() == 1);
}

}  // namespace
}  // namespace rein::testing

namespace rein::testing {
namespace {

TEST_CASE("import: HH-RLHF pairs as gold items, TRL pairs as prior judgements that export") {
  FeedbackDir dir;
  dir.Write(0);
  FeedbackProcess p = StartFeedback(dir);
  // Two ordinary items already wait in the campaign: the import must not touch them.
  const std::string campaign = MakePairwiseCampaign(p, "imported", 2, 1);
  rein::v1::ImportRequest gold;
  gold.set_campaign(campaign);
  gold.set_format(rein::v1::IMPORT_FORMAT_PREFERENCES);
  gold.set_as_gold(true);
  gold.set_jsonl(
      R"({"chosen": "\n\nHuman: Capital of France?\n\nAssistant: Paris.", "rejected": "\n\nHuman: Capital of France?\n\nAssistant: Rome."})"
      "\n");
  rein::v1::ImportResponse reply;
  grpc::Status s = p.stub->Import(p.Context().get(), gold, &reply);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(reply.items() == 1);
  rein::v1::ImportRequest prior;
  prior.set_campaign(campaign);
  prior.set_format(rein::v1::IMPORT_FORMAT_PREFERENCES);
  prior.set_prior_annotator("hh-prior");
  prior.set_jsonl(R"({"prompt": "2+2?", "chosen": "4", "rejected": "5"})" "\n"
                  R"({"prompt": "3+3?", "chosen": "6", "rejected": "7"})" "\n");
  s = p.stub->Import(p.Context().get(), prior, &reply);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(reply.items() == 2);
  CHECK(reply.judgements() == 2);
  rein::v1::ExportRequest request;
  request.set_campaign(campaign);
  request.set_format(rein::v1::EXPORT_FORMAT_PAIRS);
  auto context = p.Context();
  auto reader = p.stub->Export(context.get(), request);
  std::string text;
  rein::v1::ExportChunk chunk;
  while (reader->Read(&chunk)) text += chunk.jsonl();
  REQUIRE(reader->Finish().ok());
  INFO(text);
  CHECK(text.find(R"("chosen":"4")") != std::string::npos);
  CHECK(text.find(R"("rejected":"7")") != std::string::npos);
  CHECK(text.find("Paris") == std::string::npos);  // gold items are not training data
  rein::v1::GetCampaignStatusRequest status_request;
  status_request.set_campaign(campaign);
  rein::v1::CampaignStatus status;
  REQUIRE(p.stub->GetCampaignStatus(p.Context().get(), status_request, &status).ok());
  CHECK(status.judgements_submitted() == 2);
  CHECK(status.judgements_skipped() == 0);
  CHECK(status.items() == 5);
  CHECK(status.gold_items() == 1);
  // A hostile import line is refused with its line number, and nothing of that file is stored.
  prior.set_jsonl(R"({"prompt": "ok", "chosen": "a", "rejected": "b"})" "\n" "{broken\n");
  s = p.stub->Import(p.Context().get(), prior, &reply);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("line 2") != std::string::npos);
}

}  // namespace
}  // namespace rein::testing

namespace rein::testing {
namespace {

TEST_CASE("the per-annotator rate limit answers 429 with a JSON error, per annotator") {
  FeedbackDir dir;
  dir.Write(0, "  submissions_per_minute: 3\n");  // the tests' default is unlimited
  FeedbackProcess p = StartFeedback(dir);
  const std::string campaign = MakePairwiseCampaign(p, "limited", 5, 1);
  const std::string alice = Invite(p, "alice");
  const std::string bob = Invite(p, "bob");
  auto http = p.Http();
  const std::string path = "/api/v1/campaigns/" + campaign + "/next";
  for (int i = 0; i < 3; ++i) {
    auto r = http->Post(path, Bearer(alice), "", "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  auto limited = http->Post(path, Bearer(alice), "", "application/json");
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(ErrorOf(limited)["code"] == "RESOURCE_EXHAUSTED");
  auto other = http->Post(path, Bearer(bob), "", "application/json");
  REQUIRE(other);
  CHECK(other->status == 200);
}

}  // namespace
}  // namespace rein::testing
