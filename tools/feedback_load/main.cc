// rein-feedback-load: the load client behind scripts/bench_feedback.sh and the durability test.
//
//   rein-feedback-load --grpc HOST:PORT --http HOST:PORT --admin-token-file F
//                      [--annotators 200] [--items 20000] [--overlap 3] [--seconds 10]
//                      [--out result.json] [--acks acks.jsonl]
// Creates a campaign, its items and one synthetic annotator per simulated client through the
// admin gRPC API, then runs the annotators against the HTTP API (load_client.h) and writes a
// JSON summary (rate, latency percentiles, errors) and, with --acks, every acknowledged
// judgement as one JSON line.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files/file_util.h"
#include "common/process/process_setup.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "rein/v1/feedback.grpc.pb.h"
#include "tools/feedback_load/load_client.h"

namespace rein::feedback_load {
namespace {

struct SetupOptions {
  std::string grpc_address;
  std::string admin_token_file;
  int annotators = 200;
  int items = 20000;
  int overlap = 3;
};

absl::Status Call(const char* what, const grpc::Status& status) {
  return FromGrpcStatus(status, what);
}

// Creates the campaign, items and annotators; returns the campaign id and fills `tokens`.
absl::StatusOr<std::string> SetUp(const SetupOptions& o, std::vector<std::string>* tokens) {
  ASSIGN_OR_RETURN(std::string token_text, files::ReadFile(o.admin_token_file));
  rpc::ClientOptions client;
  client.auth_token = std::string(absl::StripAsciiWhitespace(token_text));
  ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel(o.grpc_address, client));
  auto stub = rein::v1::Feedback::NewStub(channel);
  const std::string suffix = absl::StrCat(absl::ToUnixMicros(absl::Now()));
  rein::v1::CreateCampaignRequest create;
  create.set_name("load-" + suffix);
  create.set_guidelines_markdown("Load test: pick either.");
  create.add_questions(rein::v1::QUESTION_TYPE_PAIRWISE);
  create.set_overlap(o.overlap);
  rein::v1::Campaign campaign;
  RETURN_IF_ERROR(Call("CreateCampaign", stub->CreateCampaign(
                                             rpc::NewCallContext(client, absl::Seconds(30)).get(),
                                             create, &campaign)));
  constexpr int kBatch = 1000;
  for (int begin = 0; begin < o.items; begin += kBatch) {
    rein::v1::AddItemsRequest add;
    add.set_campaign(campaign.id());
    for (int i = begin; i < std::min(o.items, begin + kBatch); ++i) {
      rein::v1::Item* item = add.add_items();
      item->set_external_id(absl::StrCat("load-", i));
      item->set_prompt(absl::StrCat("Prompt number ", i, ": describe the ocean."));
      for (int r = 0; r < 2; ++r) {
        rein::v1::ItemResponse* response = item->add_responses();
        response->set_text(absl::StrCat("Response ", r, " to prompt ", i,
                                        ": the ocean is wide and deep, with fish and reef."));
        response->mutable_provenance()->set_synthetic(true);
        response->mutable_provenance()->set_seed(static_cast<uint64_t>(i * 2 + r));
      }
    }
    rein::v1::AddItemsResponse added;
    RETURN_IF_ERROR(Call("AddItems", stub->AddItems(
                                         rpc::NewCallContext(client, absl::Seconds(60)).get(),
                                         add, &added)));
  }
  for (int a = 0; a < o.annotators; ++a) {
    rein::v1::CreateAnnotatorRequest request;
    request.set_name(absl::StrCat("load-", suffix, "-", a));
    request.set_synthetic(true);
    rein::v1::CreateAnnotatorResponse reply;
    RETURN_IF_ERROR(Call("CreateAnnotator", stub->CreateAnnotator(
                                                rpc::NewCallContext(client, absl::Seconds(30)).get(),
                                                request, &reply)));
    tokens->push_back(reply.token());
  }
  return campaign.id();
}

nlohmann::json Summary(const LoadResult& r, const SetupOptions& o) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [what, n] : r.errors) errors[what] = n;
  return {{"annotators", o.annotators}, {"offered_rate", r.offered_rate}, {"items", o.items}, {"overlap", o.overlap},
          {"judgements", r.judgements}, {"seconds", r.seconds},
          {"judgements_in_window", r.judgements_in_window},
          {"judgements_per_second", r.judgements_per_second},
          {"submit_p50_seconds", r.submit_p50}, {"submit_p99_seconds", r.submit_p99},
          {"judgement_p50_seconds", r.judgement_p50}, {"judgement_p99_seconds", r.judgement_p99},
          {"retried_submissions", r.retried_submissions}, {"errors", errors}};
}

absl::Status Run(const SetupOptions& setup, LoadOptions load, const std::string& out,
                 const std::string& acks) {
  ASSIGN_OR_RETURN(load.campaign, SetUp(setup, &load.tokens));
  // Flush the setup's writes (tens of MB of items, slots and WAL) before the clock starts:
  // otherwise the kernel writes them back during the measured window and every fsync of the
  // run waits behind that write-back. Annotators meet a campaign loaded well before.
  ::sync();
  std::cerr << "campaign " << load.campaign << ": " << setup.items << " items, "
            << setup.annotators << " annotators; running for "
            << absl::FormatDuration(load.duration) << "\n";
  ASSIGN_OR_RETURN(LoadResult result, RunLoad(load));
  nlohmann::json summary = Summary(result, setup);
  summary["campaign"] = load.campaign;
  std::cout << summary.dump(2) << std::endl;
  if (!out.empty()) {
    std::ofstream(out) << summary.dump(2) << "\n";
  }
  if (!acks.empty()) {
    std::ofstream file(acks);
    for (const Acknowledged& a : result.acknowledged) {
      file << nlohmann::json{{"lease_id", a.lease_id}, {"judgement_id", a.judgement_id}}.dump()
           << "\n";
    }
    if (!file) return absl::InternalError(absl::StrCat("cannot write ", acks));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace rein::feedback_load

int main(int argc, char** argv) {
  rein::InitProcess("rein-feedback-load");
  CLI::App app{"rein-feedback-load: simulated annotators against rein-feedback"};
  rein::feedback_load::SetupOptions setup;
  rein::feedback_load::LoadOptions load;
  std::string out, acks;
  double seconds = 10;
  app.add_option("--grpc", setup.grpc_address, "rein-feedback gRPC address")->required();
  app.add_option("--http", load.http_address, "rein-feedback HTTP address")->required();
  app.add_option("--admin-token-file", setup.admin_token_file, "Admin token file")->required();
  app.add_option("--annotators", setup.annotators, "Simulated annotators (threads)")
      ->capture_default_str();
  app.add_option("--items", setup.items, "Items in the campaign")->capture_default_str();
  app.add_option("--overlap", setup.overlap, "Judgements per item")->capture_default_str();
  app.add_option("--seconds", seconds, "Duration of the load")->capture_default_str();
  app.add_option("--rate", load.rate,
                 "Offered judgements per second over all annotators; 0 = as fast as acknowledged")
      ->capture_default_str();
  app.add_option("--max-judgements", load.max_judgements, "Stop after this many; 0 = no limit")
      ->capture_default_str();
  app.add_option("--out", out, "Write the JSON summary here too");
  app.add_option("--acks", acks, "Write every acknowledged judgement here (JSON lines)");
  CLI11_PARSE(app, argc, argv);
  load.duration = absl::Seconds(seconds);
  absl::Status status = rein::feedback_load::Run(setup, load, out, acks);
  if (!status.ok()) {
    std::cerr << "rein-feedback-load: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
