// Shared by the rein-feedback process tests: a config in a scratch folder, the process started
// on free ports (or a given HTTP port, to restart on the same one), its three addresses read
// from stdout, an admin gRPC stub and HTTP helpers.
#ifndef REIN_TESTS_FEEDBACK_FEEDBACK_PROCESS_H_
#define REIN_TESTS_FEEDBACK_FEEDBACK_PROCESS_H_

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/rpc/client.h"
#include "common/rpc/serve.h"
#include "common/testing/subprocess.h"
#include "rein/v1/feedback.grpc.pb.h"

namespace rein::testing {

inline std::string CertPath(const std::string& name) {
  return SourcePath("tests/data/certs/" + name);
}

struct FeedbackDir {
  std::string dir = MakeTempDir("rein-feedback-");
  std::string config = dir + "/run.yaml";
  std::string admin_token = "admin-token-for-tests-0123456789";
  // Serve gRPC and HTTP over TLS with the test certificates (tests/data/certs).
  bool tls = false;
  // Writes the config; `extra` is appended inside the feedback section (indented keys).
  void Write(int http_port, const std::string& extra = "") const {
    std::ofstream(dir + "/admin.token") << admin_token << "\n";
    std::ofstream(config) << "run: {name: feedback-test}\n"
                          << "server:\n  drain_timeout: 2s\n"
                          << (tls ? absl::StrCat("  tls: {cert: ", CertPath("server.pem"),
                                                 ", key: ", CertPath("server.key"), "}\n")
                                  : "")
                          << "feedback:\n"
                          << "  store: sqlite:" << dir << "/feedback.db\n"
                          << "  admin_token_file: " << dir << "/admin.token\n"
                          << "  http_port: " << http_port << "\n"
                          << (extra.find("submissions_per_minute") == std::string::npos
                                  ? "  submissions_per_minute: 0\n"
                                  : "")
                          << extra;
  }
};

struct FeedbackProcess {
  std::unique_ptr<Subprocess> process;
  std::string grpc_address;
  std::string http_address;
  std::string metrics_address;
  int http_port = 0;
  bool tls = false;
  rpc::ClientOptions client;
  std::unique_ptr<rein::v1::Feedback::Stub> stub;

  std::unique_ptr<grpc::ClientContext> Context() const {
    return rpc::NewCallContext(client, absl::Seconds(30));
  }
  // The text of the process's /metrics page.
  std::string MetricsPage() const {
    std::vector<std::string> hp = absl::StrSplit(metrics_address, ':');
    REQUIRE(hp.size() == 2);
    httplib::Client metrics(hp[0], std::stoi(hp[1]));
    auto page = metrics.Get("/metrics");
    REQUIRE(page);
    return page->body;
  }
  std::unique_ptr<httplib::Client> Http() const {
    auto c = std::make_unique<httplib::Client>(
        absl::StrCat(tls ? "https" : "http", "://127.0.0.1:", http_port));
    if (tls) c->set_ca_cert_path(CertPath("ca.pem").c_str());
    c->set_read_timeout(std::chrono::seconds(30));
    return c;
  }
};

inline FeedbackProcess StartFeedback(const FeedbackDir& dir) {
  FeedbackProcess p;
  auto process = Subprocess::Start({BuiltBinary("rein-feedback"), "--config=" + dir.config,
                                    "--port=0"});
  REQUIRE(process.ok());
  p.process = *std::move(process);
  // rein-feedback announces its HTTP address first, then gRPC and metrics (WaitForLine only
  // looks forward).
  auto http = p.process->WaitForLine(" http on ", absl::Seconds(60));
  INFO(p.process->output());
  REQUIRE(http.ok());
  auto grpc = p.process->WaitForLine(rpc::kListeningMarker, absl::Seconds(60));
  REQUIRE(grpc.ok());
  auto metrics = p.process->WaitForLine(rpc::kMetricsMarker, absl::Seconds(60));
  REQUIRE(metrics.ok());
  p.metrics_address = *metrics;
  p.grpc_address = *grpc;
  p.http_address = *http;
  std::vector<std::string> hp = absl::StrSplit(p.http_address, ':');
  REQUIRE(hp.size() == 2);
  REQUIRE(absl::SimpleAtoi(hp[1], &p.http_port));
  p.client.auth_token = dir.admin_token;
  p.tls = dir.tls;
  if (dir.tls) {
    p.client.tls.ca_file = CertPath("ca.pem");
    p.client.tls.server_name_override = "localhost";
  }
  auto channel = rpc::CreateChannel(p.grpc_address, p.client);
  REQUIRE(channel.ok());
  p.stub = rein::v1::Feedback::NewStub(*channel);
  return p;
}

// An empty pairwise campaign.
inline rein::v1::Campaign CreatePairwiseCampaign(
    const FeedbackProcess& p, const std::string& name, int overlap,
    rein::v1::AnnotatorRole min_role = rein::v1::ANNOTATOR_ROLE_UNSPECIFIED,
    double gold_rate = 0) {
  rein::v1::CreateCampaignRequest create;
  create.set_name(name);
  create.set_guidelines_markdown("# Pick the better response");
  create.add_questions(rein::v1::QUESTION_TYPE_PAIRWISE);
  create.set_overlap(overlap);
  create.set_min_role(min_role);
  create.set_gold_rate(gold_rate);
  rein::v1::Campaign campaign;
  grpc::Status s = p.stub->CreateCampaign(p.Context().get(), create, &campaign);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return campaign;
}

// A pairwise campaign with `items` two-response items; returns its id.
inline std::string MakePairwiseCampaign(const FeedbackProcess& p, const std::string& name,
                                        int items, int overlap, double gold_rate = 0) {
  const rein::v1::Campaign campaign = CreatePairwiseCampaign(
      p, name, overlap, rein::v1::ANNOTATOR_ROLE_UNSPECIFIED, gold_rate);
  rein::v1::AddItemsRequest add;
  add.set_campaign(campaign.id());
  for (int i = 0; i < items; ++i) {
    rein::v1::Item* item = add.add_items();
    item->set_external_id(absl::StrCat("item-", i));
    item->set_prompt(absl::StrCat("prompt ", i));
    item->add_responses()->set_text(absl::StrCat("first ", i));
    item->add_responses()->set_text(absl::StrCat("second ", i));
  }
  rein::v1::AddItemsResponse added;
  grpc::Status s = p.stub->AddItems(p.Context().get(), add, &added);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return campaign.id();
}

// A fresh annotator; returns its token.
inline std::string Invite(const FeedbackProcess& p, const std::string& name,
                          rein::v1::AnnotatorRole role = rein::v1::ANNOTATOR_ROLE_ANNOTATOR) {
  rein::v1::CreateAnnotatorRequest request;
  request.set_name(name);
  request.set_role(role);
  rein::v1::CreateAnnotatorResponse reply;
  grpc::Status s = p.stub->CreateAnnotator(p.Context().get(), request, &reply);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return reply.token();
}

// Every judgement the store holds, as exported (one JSON line each).
inline std::string ExportJudgements(const FeedbackProcess& p, const std::string& campaign) {
  rein::v1::ExportRequest request;
  request.set_campaign(campaign);
  request.set_format(rein::v1::EXPORT_FORMAT_JUDGEMENTS);
  request.set_include_synthetic(true);
  auto context = p.Context();
  auto reader = p.stub->Export(context.get(), request);
  std::string text;
  rein::v1::ExportChunk chunk;
  while (reader->Read(&chunk)) text += chunk.jsonl();
  grpc::Status s = reader->Finish();
  INFO(s.error_message());
  REQUIRE(s.ok());
  return text;
}

}  // namespace rein::testing

#endif  // REIN_TESTS_FEEDBACK_FEEDBACK_PROCESS_H_
