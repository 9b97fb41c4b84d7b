// rein-feedback's gRPC API under a hostile client: bad names, ids, counts, numbers and JSON,
// without and with the admin token, one by one and many at once; the process stays up with
// bounded memory and valid calls still work. (Its HTTP API has hostile cases of its own in
// tests/feedback/feedback_http_test.cc.)
#include <cmath>
#include <limits>

#include "rein/v1/feedback.grpc.pb.h"
#include "tests/hostile/hostile_client.h"

namespace rein::testing {
namespace {

using grpc::StatusCode;

rein::v1::CreateCampaignRequest ValidCampaign(const std::string& name) {
  rein::v1::CreateCampaignRequest request;
  request.set_name(name);
  request.set_guidelines_markdown("# Pick the better response");
  request.add_questions(rein::v1::QUESTION_TYPE_PAIRWISE);
  request.set_overlap(1);
  return request;
}

void AddItem(rein::v1::AddItemsRequest& request, const std::string& external_id) {
  rein::v1::Item* item = request.add_items();
  item->set_external_id(external_id);
  item->set_prompt("a prompt");
  item->add_responses()->set_text("first");
  item->add_responses()->set_text("second");
}

TEST_CASE("hostile client: rein-feedback refuses bad calls at the edge and keeps serving") {
  const std::string dir = MakeTempDir("rein-hostile-feedback-");
  const std::string token = "admin-token-for-hostile-tests-0123456789";
  std::ofstream(dir + "/admin.token") << token << "\n";
  std::ofstream(dir + "/run.yaml") << HostileServerYaml() << "run: {name: hostile}\n"
                                   << "feedback:\n  store: sqlite:" << dir << "/feedback.db\n"
                                   << "  admin_token_file: " << dir << "/admin.token\n"
                                   << "  http_port: 0\n  submissions_per_minute: 0\n";
  HostileTarget target =
      StartHostileTarget("rein-feedback", {"--config=" + dir + "/run.yaml"}, token);
  auto stub = rein::v1::Feedback::NewStub(target.channel);
  rein::v1::Campaign campaign;
  REQUIRE(stub->CreateCampaign(target.Context().get(), ValidCampaign("hostile-0"), &campaign).ok());
  target.RecordBaseline();

  const auto create = [&](const rein::v1::CreateCampaignRequest& request) {
    rein::v1::Campaign reply;
    return stub->CreateCampaign(target.Context().get(), request, &reply);
  };
  const auto add = [&](const rein::v1::AddItemsRequest& request) {
    rein::v1::AddItemsResponse reply;
    return stub->AddItems(target.Context().get(), request, &reply);
  };
  const auto import = [&](const rein::v1::ImportRequest& request) {
    rein::v1::ImportResponse reply;
    return stub->Import(target.Context().get(), request, &reply);
  };
  std::vector<BadCall> calls;
  for (const std::string& bad : HostileStrings()) {
    const std::string shown = QuotedForTest(bad);
    calls.push_back({"campaign name " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       return create(ValidCampaign(bad));
                     }});
    calls.push_back({"items for campaign " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::AddItemsRequest request;
                       request.set_campaign(bad);
                       AddItem(request, "item-0");
                       return add(request);
                     }});
    calls.push_back({"item external_id " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::AddItemsRequest request;
                       request.set_campaign(campaign.id());
                       AddItem(request, bad);
                       return add(request);
                     }});
    calls.push_back({"annotator name " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::CreateAnnotatorRequest request;
                       request.set_name(bad);
                       rein::v1::CreateAnnotatorResponse reply;
                       return stub->CreateAnnotator(target.Context().get(), request, &reply);
                     }});
    calls.push_back({"pause annotator " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::SetAnnotatorPausedRequest request;
                       request.set_annotator(bad);
                       rein::v1::Annotator reply;
                       return stub->SetAnnotatorPaused(target.Context().get(), request, &reply);
                     }});
    calls.push_back({"status of " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::GetCampaignStatusRequest request;
                       request.set_campaign(bad);
                       rein::v1::CampaignStatus reply;
                       return stub->GetCampaignStatus(target.Context().get(), request, &reply);
                     }});
    calls.push_back({"export of " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::ExportRequest request;
                       request.set_campaign(bad);
                       request.set_format(rein::v1::EXPORT_FORMAT_PAIRS);
                       auto context = target.Context();
                       auto reader = stub->Export(context.get(), request);
                       rein::v1::ExportChunk chunk;
                       while (reader->Read(&chunk)) {
                       }
                       return reader->Finish();
                     }});
    calls.push_back({"import prior_annotator " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::ImportRequest request;
                       request.set_campaign(campaign.id());
                       request.set_format(rein::v1::IMPORT_FORMAT_PREFERENCES);
                       request.set_prior_annotator(bad);
                       request.set_jsonl(
                           "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
                       return import(request);
                     }});
  }
  calls.push_back({"overlap -1", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::CreateCampaignRequest request = ValidCampaign("overlap");
                     request.set_overlap(-1);
                     return create(request);
                   }});
  calls.push_back({"overlap 2^31 - 1", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::CreateCampaignRequest request = ValidCampaign("overlap");
                     request.set_overlap(std::numeric_limits<int32_t>::max());
                     return create(request);
                   }});
  calls.push_back({"gold_rate NaN", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::CreateCampaignRequest request = ValidCampaign("gold");
                     request.set_gold_rate(std::nan(""));
                     return create(request);
                   }});
  calls.push_back({"unknown question type", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::CreateCampaignRequest request = ValidCampaign("question");
                     request.add_questions(static_cast<rein::v1::QuestionType>(999));
                     return create(request);
                   }});
  calls.push_back({"2 MiB of guidelines", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::CreateCampaignRequest request = ValidCampaign("guidelines");
                     request.set_guidelines_markdown(std::string(2 << 20, '#'));
                     return create(request);
                   }});
  calls.push_back({"a message over the server's limit", {StatusCode::RESOURCE_EXHAUSTED}, [&] {
                     rein::v1::CreateCampaignRequest request = ValidCampaign("oversized");
                     request.set_guidelines_markdown(Oversized());
                     return create(request);
                   }});
  calls.push_back({"taken campaign name", {StatusCode::ALREADY_EXISTS}, [&] {
                     return create(ValidCampaign("hostile-0"));
                   }});
  calls.push_back({"20000 items in one call", {StatusCode::RESOURCE_EXHAUSTED}, [&] {
                     rein::v1::AddItemsRequest request;
                     request.set_campaign(campaign.id());
                     for (int i = 0; i < 20000; ++i) AddItem(request, absl::StrCat("i", i));
                     return add(request);
                   }});
  calls.push_back({"an item with one response", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::AddItemsRequest request;
                     request.set_campaign(campaign.id());
                     AddItem(request, "one-response");
                     request.mutable_items(0)->mutable_responses()->RemoveLast();
                     return add(request);
                   }});
  calls.push_back({"items for a campaign that does not exist", {StatusCode::NOT_FOUND}, [&] {
                     rein::v1::AddItemsRequest request;
                     request.set_campaign("no-such-campaign");
                     AddItem(request, "item-0");
                     return add(request);
                   }});
  calls.push_back({"annotator of an unknown role", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::CreateAnnotatorRequest request;
                     request.set_name("role-999");
                     request.set_role(static_cast<rein::v1::AnnotatorRole>(999));
                     rein::v1::CreateAnnotatorResponse reply;
                     return stub->CreateAnnotator(target.Context().get(), request, &reply);
                   }});
  calls.push_back({"pause an annotator who does not exist", {StatusCode::NOT_FOUND}, [&] {
                     rein::v1::SetAnnotatorPausedRequest request;
                     request.set_annotator("nobody");
                     rein::v1::Annotator reply;
                     return stub->SetAnnotatorPaused(target.Context().get(), request, &reply);
                   }});
  calls.push_back({"rate no campaigns", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::RateVersionsResponse reply;
                     return stub->RateVersions(target.Context().get(),
                                               rein::v1::RateVersionsRequest(), &reply);
                   }});
  calls.push_back({"rate 5000 campaigns", {StatusCode::RESOURCE_EXHAUSTED}, [&] {
                     rein::v1::RateVersionsRequest request;
                     for (int i = 0; i < 5000; ++i) request.add_campaigns(campaign.id());
                     rein::v1::RateVersionsResponse reply;
                     return stub->RateVersions(target.Context().get(), request, &reply);
                   }});
  calls.push_back({"import of garbage", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::ImportRequest request;
                     request.set_campaign(campaign.id());
                     request.set_format(rein::v1::IMPORT_FORMAT_PREFERENCES);
                     request.set_jsonl(std::string("{\"prompt\": [[[[[[\x01\n", 20));
                     return import(request);
                   }});
  calls.push_back({"a call without the admin token", {StatusCode::UNAUTHENTICATED}, [&] {
                     rpc::ClientOptions anonymous;
                     auto channel = rpc::CreateChannel(target.address, anonymous);
                     REQUIRE(channel.ok());
                     rein::v1::ListCampaignsResponse reply;
                     auto context = rpc::NewCallContext(anonymous, absl::Seconds(30));
                     return rein::v1::Feedback::NewStub(*channel)->ListCampaigns(
                         context.get(), rein::v1::ListCampaignsRequest(), &reply);
                   }});
  ExpectRefused(calls);
  ExpectRefusedConcurrently(calls, /*threads=*/4, /*rounds=*/2);
  target.ExpectServing("rein.v1.Feedback");

  // Valid calls still work, and nothing the hostile calls sent was stored.
  rein::v1::AddItemsRequest items;
  items.set_campaign(campaign.id());
  AddItem(items, "item-0");
  rein::v1::AddItemsResponse added;
  REQUIRE(stub->AddItems(target.Context().get(), items, &added).ok());
  CHECK(added.added() == 1);
  rein::v1::ListCampaignsResponse listed;
  REQUIRE(
      stub->ListCampaigns(target.Context().get(), rein::v1::ListCampaignsRequest(), &listed).ok());
  CHECK(listed.campaigns_size() == 1);
  target.ExpectMemoryBounded();
  target.Stop();
}

}  // namespace
}  // namespace rein::testing
