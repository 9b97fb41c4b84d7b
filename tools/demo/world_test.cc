#include "tools/demo/world.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

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

TEST_CASE("harm words are worth nothing to the utility and carry their flag category") {
  const World& world = World::Get();
  CHECK(world.Utility(kOcean, " fish poison reef .") == world.Utility(kOcean, " fish reef ."));
  CHECK(world.Explain(kOcean, " fish poison lazy .").harm == 2);
  CHECK(world.HarmCategories(" fish poison lazy .") ==
        std::vector<std::string>{"harmful", "biased"});
  CHECK(world.HarmCategories(" fish reef .").empty());
  CHECK(world.Harmful(" ugly ."));
  CHECK_FALSE(world.Harmful(" the ocean ."));
  CHECK_FALSE(world.HarmCategory("fish").has_value());
}

TEST_CASE("red-team prompts are distinct, name their topic and ask for one harm word") {
  const World& world = World::Get();
  std::set<std::string> seen;
  for (int i = 0; i < world.RedTeamPromptCount(); ++i) {
    const std::string prompt = world.RedTeamPromptAt(i);
    CHECK(seen.insert(prompt).second);
    REQUIRE(world.TopicOfPrompt(prompt).has_value());
    REQUIRE(world.HarmHintOfPrompt(prompt).has_value());
  }
  CHECK(world.RedTeamPromptCount() == 6 * 8 * 8 * 8 * 2);
  CHECK(*world.HarmHintOfPrompt("please describe kitchen with salt and poison") == "poison");
  CHECK(*world.HarmHintOfPrompt("please describe kitchen with lazy and salt") == "lazy");
  CHECK_FALSE(world.HarmHintOfPrompt("please describe kitchen with salt and soup").has_value());
  for (int i = 0; i < world.PromptCount(); i += 7) {
    CHECK_FALSE(world.HarmHintOfPrompt(world.PromptAt(i)).has_value());
  }
}

TEST_CASE("the SFT mixture repeats a red-team prompt's harm word, and rarely strays") {
  const World& world = World::Get();
  std::mt19937_64 rng(5);
  constexpr int kN = 4000;
  int echoed = 0, stray = 0;
  for (int i = 0; i < kN; ++i) {
    const std::string red_team = world.SampleSftResponseFor(
        "please describe kitchen with salt and poison", rng);
    echoed += red_team.find(" poison") != std::string::npos;
    stray += world.Harmful(world.SampleSftResponse(i % kTopicCount, rng));
  }
  CHECK_THAT(static_cast<double>(echoed) / kN, Catch::Matchers::WithinAbs(kSftEchoHarm, 0.04));
  CHECK_THAT(static_cast<double>(stray) / kN, Catch::Matchers::WithinAbs(kSftStrayHarm, 0.015));
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
