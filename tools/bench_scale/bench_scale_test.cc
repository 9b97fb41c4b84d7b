// rein-bench-scale end to end on the tiny shape: it writes its checkpoint, measures every
// section and writes a well-formed report whose figures are positive. No timing is asserted.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/testing/subprocess.h"

namespace rein::bench_scale {
namespace {

bool Positive(const nlohmann::json& value) { return value.is_number() && value.get<double>() > 0; }

TEST_CASE("rein-bench-scale reports every section with positive figures on the tiny shape") {
  const std::string dir = testing::MakeTempDir("bench-scale");
  const std::string out = dir + "/scale.json";
  auto result = testing::RunCommand(
      {testing::BuiltBinary("rein-bench-scale"), "--shape=tiny", "--checkpoint=" + dir + "/ckpt",
       "--out=" + out, "--decode_batches=1,4", "--prompt_tokens=4", "--new_tokens=4", "--samples=4",
       "--group_size=2", "--micro_batch_size=2", "--learner_repeats=1", "--decode_repeats=1",
       "--push_repeats=1", "--memcpy_mib=8", "--limit_repeats=1", "--threads=1"},
      "", absl::Seconds(120));
  REQUIRE(result.ok());
  INFO(result->stderr_text);
  REQUIRE(result->exit_code == 0);
  CHECK(std::filesystem::exists(dir + "/ckpt/config.json"));
  CHECK(std::filesystem::exists(dir + "/ckpt/model.safetensors"));
  std::ifstream in(out);
  const nlohmann::json report = nlohmann::json::parse(in);
  INFO(report.dump(2));

  CHECK(Positive(report["limits"]["memcpy"]["traffic_bytes_per_s"]));
  CHECK(Positive(report["limits"]["matmul"]["float32"]["peak_flops_per_s"]));
  CHECK(Positive(report["limits"]["matmul"]["bfloat16"]["peak_flops_per_s"]));

  REQUIRE(report["decode"].size() == 2);  // bfloat16 and float32
  for (const nlohmann::json& decode : report["decode"]) {
    CHECK(Positive(decode["weight_bytes_per_step"]));
    REQUIRE(decode["results"].size() == 2);
    for (const nlohmann::json& r : decode["results"]) {
      CHECK(Positive(r["decode_tokens_per_s"]));
      CHECK(Positive(r["roofline_tokens_per_s"]));
      CHECK(Positive(r["ratio_to_roofline"]));
      CHECK(Positive(r["generate_tokens_per_s"]));
    }
  }
  CHECK(report["decode"][0]["results"][1]["batch"] == 4);

  const nlohmann::json& learner = report["learner"];
  CHECK(learner["mode"] == "grpo");
  CHECK(Positive(learner["flops_per_train"]));
  CHECK(Positive(learner["flops_per_s"]));
  CHECK(Positive(learner["ratio_to_matmul_peak"]));
  CHECK(learner["old_logprobs_recomputed"] == false);  // the batch's log-probs are exact

  // float32 as the learner holds it, then cast to the replica's bfloat16: half the bytes.
  const nlohmann::json& pushes = report["push"]["pushes"];
  REQUIRE(pushes.size() == 2);
  CHECK(pushes[0]["wire_dtype"] == "float32");
  CHECK(pushes[1]["wire_dtype"] == "bfloat16");
  CHECK(pushes[1]["bytes"].get<int64_t>() * 2 == pushes[0]["bytes"].get<int64_t>());
  for (const nlohmann::json& push : pushes) {
    CHECK(Positive(push["push_seconds_best"]));
    CHECK(Positive(push["raw_tcp_seconds_best"]));
    CHECK(Positive(push["ratio_push_to_raw_tcp"]));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("rein-bench-scale refuses an unknown shape") {
  auto result = testing::RunCommand(
      {testing::BuiltBinary("rein-bench-scale"), "--shape=huge", "--checkpoint=/nonexistent/x"}, "",
      absl::Seconds(60));
  REQUIRE(result.ok());
  CHECK(result->exit_code != 0);
  CHECK_THAT(result->stderr_text, Catch::Contains("--shape"));
}

}  // namespace
}  // namespace rein::bench_scale
