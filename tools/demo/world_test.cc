#include "tools/demo/world.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <set>
#include <string>

namespace rein::demo {
namespace {

constexpr int kOcean = 0;

TEST_CASE("utility is additive per word with a stop bonus and a length penalty") {
  const World& world = World::Get();
  CHECK(world.Utility(kOcean, " fish reef tide .") == 4);
  CHECK(world.Utility(kOcean, " fish star the") == -1);  // +1 -1 +0, no stop -1
  CHECK(world.Utility(kOcean, " the ocean and some .") == 1);
  CHECK(world.Utility(kOcean, " fish blorp .") == 1);     // unknown word -1
  CHECK(world.Utility(kOcean, " .") == 1);
  CHECK(world.Utility(kOcean, "") == -1);
  // Ten topic words and a stop is the best there is; each further word costs 1 more.
  CHECK(world.Utility(kOcean, " fish fish fish fish fish fish fish fish fish fish .") == 11);
  CHECK(world.Utility(kOcean, " fish fish fish fish fish fish fish fish fish fish fish .") == 11);
  CHECK(world.Utility(kOcean, " fish fish fish fish fish fish fish fish fish fish the .") == 10);
  const UtilityBreakdown b = world.Explain(kOcean, " fish star fog the .");
  CHECK(b.on_topic == 1);
  CHECK(b.off_topic == 2);
  CHECK(b.words == 4);
  CHECK(b.proper_stop);
}

TEST_CASE("prompts are distinct and name their topic") {
  const World& world = World::Get();
  std::set<std::string> seen;
  for (int i = 0; i < world.PromptCount(); ++i) {
    const std::string prompt = world.PromptAt(i);
    CHECK(seen.insert(prompt).second);
    REQUIRE(world.TopicOfPrompt(prompt).has_value());
    CHECK(prompt.back() != ' ');
  }
  CHECK(world.PromptCount() == 6 * 8 * 56);
  CHECK(*world.TopicOfPrompt("please describe forest with owl and moss") == 1);
  CHECK_FALSE(world.TopicOfPrompt("hello there").has_value());
  CHECK(world.UtilityForPrompt("please describe forest with owl and moss", " owl .") == 2);
}

TEST_CASE("SFT responses spread in utility and start with a space") {
  const World& world = World::Get();
  std::mt19937_64 rng(7);
  double sum = 0, sum_sq = 0;
  int good = 0, bad = 0;
  constexpr int kN = 4000;
  for (int i = 0; i < kN; ++i) {
    const int topic = i % kTopicCount;
    const std::string response = world.SampleSftResponse(topic, rng);
    REQUIRE(response.size() > 1);
    CHECK(response[0] == ' ');
    const double u = world.Utility(topic, response);
    sum += u;
    sum_sq += u * u;
    good += u >= 5;
    bad += u <= -2;
  }
  const double mean = sum / kN;
  const double sd = std::sqrt(sum_sq / kN - mean * mean);
  CHECK(mean > 0);
  CHECK(mean < 4);
  CHECK(sd > 2.5);
  CHECK(good > kN / 10);
  CHECK(bad > kN / 10);
}

TEST_CASE("annotator agrees with the utility about 95% of the time on SFT-like pairs") {
  const World& world = World::Get();
  std::mt19937_64 rng(3);
  Annotator annotator(11);
  int labels = 0, agree = 0, ties = 0;
  for (int i = 0; i < 20000; ++i) {
    const int topic = i % kTopicCount;
    const double a = world.Utility(topic, world.SampleSftResponse(topic, rng));
    const double b = world.Utility(topic, world.SampleSftResponse(topic, rng));
    const std::optional<bool> first = annotator.PrefersFirst(a, b);
    if (!first.has_value()) {
      CHECK(a == b);
      ++ties;
      continue;
    }
    ++labels;
    agree += *first == (a > b);
  }
  const double rate = static_cast<double>(agree) / labels;
  CHECK(rate > 0.92);
  CHECK(rate < 0.985);
  CHECK(ties < 20000 / 4);
}

TEST_CASE("annotator is deterministic in its seed and follows Bradley-Terry") {
  Annotator a(5), b(5);
  for (int i = 0; i < 100; ++i) CHECK(a.PrefersFirst(1, 0) == b.PrefersFirst(1, 0));
  Annotator c(9);
  int first = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) first += *c.PrefersFirst(1, 0);
  const double expected = 1 / (1 + std::exp(-1 / kAnnotatorTemperature));
  CHECK_THAT(static_cast<double>(first) / kN, Catch::Matchers::WithinAbs(expected, 0.015));
}

}  // namespace
}  // namespace rein::demo
