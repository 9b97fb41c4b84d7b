// rein-reference under a hostile client: malformed, oversized and out-of-vocabulary LogProbs
// calls, one by one and many at once; the process stays up with bounded memory.
#include "rein/v1/reference.grpc.pb.h"
#include "tests/hostile/hostile_client.h"
#include "tests/hostile/token_sequences.h"

namespace rein::testing {
namespace {

TEST_CASE("hostile client: rein-reference refuses bad calls at the edge and keeps serving") {
  const std::string dir = MakeTempDir("rein-hostile-reference-");
  std::ofstream(dir + "/run.yaml")
      << HostileServerYaml() << "model:\n  policy: " << SourcePath("tests/data/models/tiny-llama")
      << "\nreference:\n  capacity: 4\n";
  HostileTarget target = StartHostileTarget("rein-reference", {"--config=" + dir + "/run.yaml"});
  auto stub = rein::v1::Reference::NewStub(target.channel);
  const auto logprobs = [&](const rein::v1::LogProbsRequest& request) {
    rein::v1::LogProbsResponse response;
    return stub->LogProbs(target.Context().get(), request, &response);
  };
  rein::v1::LogProbsRequest valid;
  AddValidSequence(*valid.mutable_sequences());
  REQUIRE(logprobs(valid).ok());
  target.RecordBaseline();

  std::vector<BadCall> calls;
  for (const auto& [what, code, edit] : BadSequenceEdits()) {
    rein::v1::LogProbsRequest request = valid;
    edit(*request.mutable_sequences());
    calls.push_back({what, {code}, [&, request] { return logprobs(request); }});
  }
  ExpectRefused(calls);
  ExpectRefusedConcurrently(calls);
  target.ExpectServing("rein.v1.Reference");

  rein::v1::LogProbsResponse response;
  REQUIRE(stub->LogProbs(target.Context().get(), valid, &response).ok());
  REQUIRE(response.sequences_size() == 1);
  CHECK(response.sequences(0).logprobs_size() == 2);
  target.ExpectMemoryBounded();
  target.Stop();
}

}  // namespace
}  // namespace rein::testing
