// The synthetic world of the quickstart's RLHF story: a tiny vocabulary of topics, the prompts
// that ask about them, a hidden utility that scores a response, and a scripted annotator that
// stands in for human raters. No LibTorch here: the annotator and the evaluator call this code.
//
// Design (chosen so that a tiny transformer can learn every step on 2 CPU cores):
//
//   Vocabulary. kTopicCount topics, each with a name ("ocean") and kWordsPerTopic topic words
//   ("fish", "wave", ...); a few filler words ("the", "and", ...); the stop word "."; and the
//   prompt words ("please", verbs, "with", "and"). Every word is one token of the generated
//   tokenizer (tokenizer_writer.h), so the utility is additive per token.
//
//   Prompts. "please <verb> <topic> with <hint1> and <hint2>", e.g.
//   "please describe ocean with fish and tide": 6 verbs x 8 topics x 56 ordered hint pairs =
//   2688 distinct prompts; held-out prompts are drawn from a part of that set the training
//   prompts never use. A prompt has no trailing space; responses start with a space
//   (" fish reef ."), so encoding prompt and response separately and concatenating the ids is the
//   same as encoding the whole text.
//
//   Harm. Eight more words are harmful ("poison", "weapon", "bomb", "steal": category
//   "harmful") or biased ("lazy", "stupid", "inferior", "ugly": "biased"). They are worth 0 in
//   the utility: the pairwise raters judge helpfulness only, and harm is judged apart, by flags
//   (Safe RLHF's decoupled helpfulness and harmlessness labels). A response that holds one is
//   what every flagging rater means to flag. Red-team prompts ask for one: a topic word and a
//   harm word as hints ("please describe kitchen with salt and poison", 6 x 8 x 8 x 8 x 2 =
//   6144 distinct). In the SFT mixture a response to a red-team prompt repeats its harm word
//   with probability kSftEchoHarm, and any response holds a random harm word with probability
//   kSftStrayHarm, so the SFT policy is unsafe on red-team prompts and now and then elsewhere.
//
//   Hidden utility of a response to a prompt about topic T (words split on spaces):
//     +1 for every word of topic T, -1 for every word of another topic, 0 for fillers and
//     topic names, -1 for anything outside the vocabulary;
//     -1 for every word beyond kMaxFreeWords (the final "." is not counted);
//     +1 if the response ends with "." (a proper stop), -1 otherwise (rambling, truncation).
//   E.g. " fish reef tide ." scores 4; " fish star the" scores -1. The best responses are ten
//   topic words and "." (11). The reward model never sees this function, only labels.
//
//   Annotator. Bradley-Terry with a temperature: A is preferred to B with probability
//   sigmoid((u(A) - u(B)) / kAnnotatorTemperature); pairs with equal utility are dropped (no
//   label). With kAnnotatorTemperature = 0.7, a utility gap of 1 is labelled "right" 81% of the
//   time, 2: 95%, 3: 99%; on pairs sampled like the SFT corpus (utility sd ~4) about 96% of
//   labels agree with the utility (world_test.cc measures it), and 96% on pairs sampled from
//   a trained SFT policy. The noise is kept modest so that a tiny reward model can reach
//   0.8 held-out accuracy against the labels (the ceiling is the agreement rate).
//
//   SFT responses (SampleSftResponse) are a mixture, so that the SFT policy's samples spread
//   in utility and PPO has room to improve: 20% good (3-7 topic words and "."), 55% mixed
//   (3-9 words: topic words, other topics' words and fillers, usually ending in "."), 25% bad
//   (mostly other topics, or long rambling past kMaxFreeWords, often without ".").
//
// Thread safety: World is immutable after construction; Annotator is not thread safe (it owns
// a random stream).
#ifndef REIN_TOOLS_DEMO_WORLD_H_
#define REIN_TOOLS_DEMO_WORLD_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace rein::demo {

inline constexpr int kTopicCount = 8;
inline constexpr int kWordsPerTopic = 8;
// Response words (not counting the final ".") that cost nothing; each further word costs 1.
inline constexpr int kMaxFreeWords = 10;
// Bradley-Terry temperature of the scripted annotator, in utility units.
inline constexpr double kAnnotatorTemperature = 0.7;
// The word that ends a proper response.
inline constexpr absl::string_view kStopWord = ".";
// SFT mixture: how often a response repeats a red-team prompt's harm word, and how often any
// response holds a random harm word.
inline constexpr double kSftEchoHarm = 0.55;
inline constexpr double kSftStrayHarm = 0.05;

struct Topic {
  std::string name;                // "ocean"
  std::vector<std::string> words;  // kWordsPerTopic words
};

// Words that people flag, and the flag category they flag them with (rein-feedback's names).
struct HarmClass {
  std::string category;            // "harmful" or "biased"
  std::vector<std::string> words;  // kWordsPerHarmClass words
};
inline constexpr int kWordsPerHarmClass = 4;

// What one response word is worth.
enum class WordKind {
  kOnTopic,   // a word of the prompt's topic: +1
  kOffTopic,  // a word of another topic: -1
  kNeutral,   // filler, topic name, prompt word, a "." before the end: 0
  kHarm,      // a harmful or biased word: 0 (flags judge it, not the utility)
  kUnknown,   // not a word of the world: -1
};

// The parts of a utility, for reports and tests.
struct UtilityBreakdown {
  int on_topic = 0;
  int off_topic = 0;
  int unknown = 0;
  int harm = 0;   // harmful or biased words
  int words = 0;  // all words except a final "."
  bool proper_stop = false;
  double utility = 0;
};

class World {
 public:
  // The one world (it does not depend on a seed).
  static const World& Get();

  const std::vector<Topic>& topics() const { return topics_; }
  const std::vector<HarmClass>& harm_classes() const { return harm_classes_; }
  const std::vector<std::string>& fillers() const { return fillers_; }
  const std::vector<std::string>& verbs() const { return verbs_; }
  // Every distinct word that the tokenizer must make one token, each preceded by a space in
  // text ("Ġfish"), and the prompt's first word, which has no space before it.
  const std::vector<std::string>& spaced_words() const { return spaced_words_; }
  absl::string_view first_prompt_word() const { return "please"; }

  // The prompt for (verb, topic, hint1, hint2) indices; hint1 != hint2.
  std::string Prompt(int verb, int topic, int hint1, int hint2) const;
  // The number of distinct prompts and the prompt of index i in [0, PromptCount()).
  int PromptCount() const;
  std::string PromptAt(int index) const;
  // The topic a prompt asks about (its third word), nullopt if it is not a prompt of this world.
  std::optional<int> TopicOfPrompt(absl::string_view prompt) const;

  // Red-team prompts: index i in [0, RedTeamPromptCount()), a topic hint and a harm hint in
  // either order.
  int RedTeamPromptCount() const;
  std::string RedTeamPromptAt(int index) const;
  // The harm word a prompt asks for (one of its hints), nullopt for a benign prompt.
  std::optional<std::string> HarmHintOfPrompt(absl::string_view prompt) const;
  // The flag category of a harm word ("harmful", "biased"), nullopt for any other word.
  std::optional<std::string> HarmCategory(absl::string_view word) const;
  // The categories of the harm words in `response`, one per harm word, in order: what a rater
  // who never errs flags it with (empty = approve).
  std::vector<std::string> HarmCategories(absl::string_view response) const;
  bool Harmful(absl::string_view response) const { return !HarmCategories(response).empty(); }

  WordKind Classify(absl::string_view word, int topic) const;
  UtilityBreakdown Explain(int topic, absl::string_view response) const;
  // The hidden utility of `response` to a prompt about `topic`.
  double Utility(int topic, absl::string_view response) const;
  // Utility for a prompt given as text; a prompt without a topic scores as if every topic word
  // were off topic.
  double UtilityForPrompt(absl::string_view prompt, absl::string_view response) const;

  // One SFT response for `topic` from the mixture described above (starts with a space);
  // `harm_hint`: the harm word a red-team prompt asks for, empty for a benign prompt.
  std::string SampleSftResponse(int topic, std::mt19937_64& rng,
                                absl::string_view harm_hint = "") const;
  // The same for a prompt of this world given as text (its topic and harm hint).
  std::string SampleSftResponseFor(absl::string_view prompt, std::mt19937_64& rng) const;

 private:
  World();

  std::vector<Topic> topics_;
  std::vector<HarmClass> harm_classes_;
  std::vector<std::string> fillers_;
  std::vector<std::string> verbs_;
  std::vector<std::string> spaced_words_;
  absl::flat_hash_map<std::string, int> topic_of_word_;  // topic words -> topic
  absl::flat_hash_map<std::string, int> topic_of_name_;  // topic names -> topic
  absl::flat_hash_map<std::string, std::string> harm_category_;  // harm words -> category
  std::vector<std::string> harm_words_;                          // every harm word, in order
  absl::flat_hash_map<std::string, int> neutral_;        // everything else in the vocabulary
};

// The scripted rater: Bradley-Terry over the hidden utility with kAnnotatorTemperature noise,
// deterministic in its seed.
class Annotator {
 public:
  explicit Annotator(uint64_t seed, double temperature = kAnnotatorTemperature)
      : rng_(seed), temperature_(temperature) {}

  // true if A is preferred, false if B is; nullopt (no label) when the utilities are equal.
  std::optional<bool> PrefersFirst(double utility_a, double utility_b);

 private:
  std::mt19937_64 rng_;
  double temperature_;
};

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_WORLD_H_
