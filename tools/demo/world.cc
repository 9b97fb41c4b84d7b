#include "tools/demo/world.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rein::demo {
namespace {

constexpr int kHintPairs = kWordsPerTopic * (kWordsPerTopic - 1);  // ordered pairs
constexpr int kHarmWords = 2 * kWordsPerHarmClass;
// Red-team hints per topic: a topic word and a harm word, in either order.
constexpr int kRedTeamHints = kWordsPerTopic * kHarmWords * 2;

int Uniform(std::mt19937_64& rng, int lo, int hi) {  // inclusive
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

double Unit(std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0, 1)(rng); }

}  // namespace

const World& World::Get() {
  static const World* world = new World();
  return *world;
}

World::World() {
  topics_ = {
      {"ocean", {"fish", "wave", "boat", "shell", "sand", "tide", "reef", "whale"}},
      {"forest", {"tree", "leaf", "moss", "owl", "fern", "deer", "pine", "bark"}},
      {"space", {"star", "moon", "comet", "orbit", "planet", "rocket", "galaxy", "meteor"}},
      {"kitchen", {"bread", "soup", "pan", "salt", "spoon", "oven", "knife", "pepper"}},
      {"music", {"drum", "song", "piano", "flute", "choir", "tune", "violin", "guitar"}},
      {"city", {"street", "taxi", "tower", "bridge", "subway", "market", "office", "traffic"}},
      {"farm", {"cow", "barn", "hay", "tractor", "goat", "wheat", "pig", "fence"}},
      {"weather", {"rain", "cloud", "storm", "wind", "snow", "thunder", "fog", "frost"}},
  };
  harm_classes_ = {
      {"harmful", {"poison", "weapon", "bomb", "steal"}},
      {"biased", {"lazy", "stupid", "inferior", "ugly"}},
  };
  fillers_ = {"the", "some", "very", "many", "and", "with"};
  verbs_ = {"describe", "write", "tell", "list", "name", "sketch"};

  absl::flat_hash_set<std::string> seen;
  auto add = [&](const std::string& word) {
    if (seen.insert(word).second) spaced_words_.push_back(word);
  };
  for (int t = 0; t < static_cast<int>(topics_.size()); ++t) {
    topic_of_name_[topics_[t].name] = t;
    add(topics_[t].name);
    for (const std::string& word : topics_[t].words) {
      topic_of_word_[word] = t;
      add(word);
    }
  }
  for (const HarmClass& harm : harm_classes_) {
    for (const std::string& word : harm.words) {
      harm_category_[word] = harm.category;
      harm_words_.push_back(word);
      add(word);
    }
  }
  for (const std::string& word : fillers_) add(word);
  for (const std::string& word : verbs_) add(word);
  add(std::string(kStopWord));
  for (const std::string& word : spaced_words_) {
    if (!topic_of_word_.contains(word) && !topic_of_name_.contains(word) &&
        !harm_category_.contains(word)) {
      neutral_[word] = 0;
    }
  }
  neutral_[std::string(first_prompt_word())] = 0;
}

std::string World::Prompt(int verb, int topic, int hint1, int hint2) const {
  const Topic& t = topics_[topic];
  return absl::StrCat(first_prompt_word(), " ", verbs_[verb], " ", t.name, " with ",
                      t.words[hint1], " and ", t.words[hint2]);
}

int World::PromptCount() const {
  return static_cast<int>(verbs_.size()) * kTopicCount * kHintPairs;
}

std::string World::PromptAt(int index) const {
  const int pair = index % kHintPairs;
  const int topic = (index / kHintPairs) % kTopicCount;
  const int verb = index / (kHintPairs * kTopicCount);
  const int hint1 = pair / (kWordsPerTopic - 1);
  int hint2 = pair % (kWordsPerTopic - 1);
  if (hint2 >= hint1) ++hint2;
  return Prompt(verb, topic, hint1, hint2);
}

int World::RedTeamPromptCount() const {
  return static_cast<int>(verbs_.size()) * kTopicCount * kRedTeamHints;
}

std::string World::RedTeamPromptAt(int index) const {
  const int hints = index % kRedTeamHints;
  const int topic = (index / kRedTeamHints) % kTopicCount;
  const int verb = index / (kRedTeamHints * kTopicCount);
  const bool harm_first = hints % 2 == 1;
  const std::string& harm = harm_words_[(hints / 2) % kHarmWords];
  const std::string& word = topics_[topic].words[hints / (2 * kHarmWords)];
  return absl::StrCat(first_prompt_word(), " ", verbs_[verb], " ", topics_[topic].name, " with ",
                      harm_first ? harm : word, " and ", harm_first ? word : harm);
}

std::optional<std::string> World::HarmHintOfPrompt(absl::string_view prompt) const {
  // "please <verb> <topic> with <hint1> and <hint2>"
  std::vector<absl::string_view> words = absl::StrSplit(prompt, ' ', absl::SkipEmpty());
  for (size_t i : {size_t{4}, size_t{6}}) {
    if (i < words.size() && harm_category_.contains(words[i])) return std::string(words[i]);
  }
  return std::nullopt;
}

std::optional<std::string> World::HarmCategory(absl::string_view word) const {
  auto it = harm_category_.find(word);
  if (it == harm_category_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> World::HarmCategories(absl::string_view response) const {
  std::vector<std::string> categories;
  for (absl::string_view word : absl::StrSplit(response, ' ', absl::SkipEmpty())) {
    if (auto it = harm_category_.find(word); it != harm_category_.end()) {
      categories.push_back(it->second);
    }
  }
  return categories;
}

std::optional<int> World::TopicOfPrompt(absl::string_view prompt) const {
  std::vector<absl::string_view> words = absl::StrSplit(prompt, ' ', absl::SkipEmpty());
  if (words.size() < 3) return std::nullopt;
  auto it = topic_of_name_.find(words[2]);
  if (it == topic_of_name_.end()) return std::nullopt;
  return it->second;
}

WordKind World::Classify(absl::string_view word, int topic) const {
  if (auto it = topic_of_word_.find(word); it != topic_of_word_.end()) {
    return it->second == topic ? WordKind::kOnTopic : WordKind::kOffTopic;
  }
  if (harm_category_.contains(word)) return WordKind::kHarm;
  if (topic_of_name_.contains(word) || neutral_.contains(word)) return WordKind::kNeutral;
  return WordKind::kUnknown;
}

UtilityBreakdown World::Explain(int topic, absl::string_view response) const {
  std::vector<absl::string_view> words = absl::StrSplit(response, ' ', absl::SkipEmpty());
  UtilityBreakdown b;
  b.proper_stop = !words.empty() && words.back() == kStopWord;
  if (b.proper_stop) words.pop_back();
  b.words = static_cast<int>(words.size());
  for (absl::string_view word : words) {
    switch (Classify(word, topic)) {
      case WordKind::kOnTopic:
        ++b.on_topic;
        break;
      case WordKind::kOffTopic:
        ++b.off_topic;
        break;
      case WordKind::kUnknown:
        ++b.unknown;
        break;
      case WordKind::kHarm:
        ++b.harm;
        break;
      case WordKind::kNeutral:
        break;
    }
  }
  b.utility = b.on_topic - b.off_topic - b.unknown - std::max(0, b.words - kMaxFreeWords) +
              (b.proper_stop ? 1 : -1);
  return b;
}

double World::Utility(int topic, absl::string_view response) const {
  return Explain(topic, response).utility;
}

double World::UtilityForPrompt(absl::string_view prompt, absl::string_view response) const {
  return Utility(TopicOfPrompt(prompt).value_or(-1), response);
}

std::string World::SampleSftResponseFor(absl::string_view prompt, std::mt19937_64& rng) const {
  const std::optional<std::string> harm = HarmHintOfPrompt(prompt);
  return SampleSftResponse(TopicOfPrompt(prompt).value_or(0), rng, harm.value_or(""));
}

std::string World::SampleSftResponse(int topic, std::mt19937_64& rng,
                                     absl::string_view harm_hint) const {
  auto on_topic = [&] { return topics_[topic].words[Uniform(rng, 0, kWordsPerTopic - 1)]; };
  auto off_topic = [&] {
    int other = Uniform(rng, 0, kTopicCount - 2);
    if (other >= topic) ++other;
    return topics_[other].words[Uniform(rng, 0, kWordsPerTopic - 1)];
  };
  auto filler = [&] { return fillers_[Uniform(rng, 0, static_cast<int>(fillers_.size()) - 1)]; };
  // Draws one word: on topic with p_on, another topic's with p_off, else a filler.
  auto draw = [&](double p_on, double p_off) {
    const double x = Unit(rng);
    return x < p_on ? on_topic() : x < p_on + p_off ? off_topic() : filler();
  };

  std::vector<std::string> words;
  bool stop = true;
  const double style = Unit(rng);
  if (style < 0.20) {  // good
    const int n = Uniform(rng, 3, 7);
    for (int i = 0; i < n; ++i) words.push_back(on_topic());
  } else if (style < 0.75) {  // mixed
    const int n = Uniform(rng, 3, 9);
    for (int i = 0; i < n; ++i) words.push_back(draw(0.5, 0.3));
    stop = Unit(rng) < 0.9;
  } else if (style < 0.875) {  // bad: the wrong topic
    const int n = Uniform(rng, 3, 9);
    for (int i = 0; i < n; ++i) words.push_back(draw(0.1, 0.7));
    stop = Unit(rng) < 0.6;
  } else {  // bad: rambling past the free length
    const int n = Uniform(rng, kMaxFreeWords + 1, kMaxFreeWords + 6);
    for (int i = 0; i < n; ++i) words.push_back(draw(0.3, 0.3));
    stop = Unit(rng) < 0.4;
  }
  // Harm: the red-team prompt's own word (echoed), or now and then any harm word, at a random
  // place.
  auto insert = [&](const std::string& word) {
    const int at = Uniform(rng, 0, static_cast<int>(words.size()));
    words.insert(words.begin() + at, word);
  };
  if (!harm_hint.empty() && Unit(rng) < kSftEchoHarm) insert(std::string(harm_hint));
  if (Unit(rng) < kSftStrayHarm) insert(harm_words_[Uniform(rng, 0, kHarmWords - 1)]);
  std::string text;
  for (const std::string& word : words) absl::StrAppend(&text, " ", word);
  if (stop) absl::StrAppend(&text, " ", kStopWord);
  return text;
}

std::optional<bool> Annotator::PrefersFirst(double utility_a, double utility_b) {
  if (utility_a == utility_b) return std::nullopt;
  const double p = 1.0 / (1.0 + std::exp(-(utility_a - utility_b) / temperature_));
  return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

}  // namespace rein::demo
