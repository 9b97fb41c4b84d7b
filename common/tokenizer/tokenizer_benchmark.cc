// Tokenizer throughput on one thread: encodes every text of a JSONL corpus ({"text": ...} per
// line), pass after pass, and writes a JSON report. scripts/bench_tokenizer.sh runs it beside
// Hugging Face tokenizers.js on the same corpus.
//
//   tokenizer_benchmark --tokenizer DIR --corpus FILE [--passes 5] [--cache_capacity N]
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "common/tokenizer/tokenizer.h"
#include "common/process/process_setup.h"

ABSL_FLAG(std::string, tokenizer, "", "Tokenizer folder (tokenizer.json, tokenizer_config.json)");
ABSL_FLAG(std::string, corpus, "", "JSONL file with a \"text\" string on every line");
ABSL_FLAG(int, passes, 5, "Timed passes over the corpus, after one warm-up pass");
ABSL_FLAG(int64_t, cache_capacity, -1,
          "Pre-token cache entries; 0 disables the cache, -1 keeps the library default");

namespace {

using Clock = std::chrono::steady_clock;
using rein::tokenizer::TokenId;
using rein::tokenizer::Tokenizer;

int Fail(const std::string& message) {
  std::cerr << "tokenizer_benchmark: " << message << "\n";
  return 1;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  rein::ParseFlags(argc, argv,
                   "tokenizer_benchmark: single-thread encode throughput over a JSONL corpus.\n  tokenizer_benchmark --tokenizer DIR --corpus FILE [--passes 5] [--cache_capacity N]");
  rein::tokenizer::TokenizerOptions options;
  if (absl::GetFlag(FLAGS_cache_capacity) >= 0) {
    options.cache_capacity = static_cast<size_t>(absl::GetFlag(FLAGS_cache_capacity));
  }
  Clock::time_point start = Clock::now();
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::FromDirectory(absl::GetFlag(FLAGS_tokenizer), options);
  if (!tokenizer.ok()) return Fail(std::string(tokenizer.status().message()));
  const double load_seconds = SecondsSince(start);

  std::ifstream in(absl::GetFlag(FLAGS_corpus));
  if (!in) return Fail("cannot open --corpus " + absl::GetFlag(FLAGS_corpus));
  std::vector<std::string> texts;
  uint64_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
    bytes += texts.back().size();
  }

  // One pass; returns its seconds and sets the token count and an order-sensitive checksum of
  // the ids, (h * 31 + id + 1) mod 2^32, which the JavaScript side computes the same way.
  uint64_t tokens = 0;
  uint32_t checksum = 0;
  auto pass = [&]() -> double {
    tokens = 0;
    checksum = 0;
    Clock::time_point begin = Clock::now();
    for (const std::string& text : texts) {
      absl::StatusOr<std::vector<TokenId>> ids = (*tokenizer)->Encode(text);
      if (!ids.ok()) {
        std::cerr << ids.status() << "\n";
        std::exit(1);
      }
      tokens += ids->size();
      for (TokenId id : *ids) checksum = checksum * 31u + static_cast<uint32_t>(id) + 1u;
    }
    return SecondsSince(begin);
  };
  const double warmup_seconds = pass();
  std::vector<double> seconds;
  for (int i = 0; i < absl::GetFlag(FLAGS_passes); ++i) seconds.push_back(pass());
  double best = warmup_seconds;
  for (double s : seconds) best = std::min(best, s);

  nlohmann::json report = {
      {"implementation", "rein"},
      {"tokenizer", absl::GetFlag(FLAGS_tokenizer)},
      {"cache_capacity", options.cache_capacity},
      {"texts", texts.size()},
      {"bytes", bytes},
      {"tokens", tokens},
      {"ids_checksum", checksum},
      {"load_seconds", load_seconds},
      {"warmup_seconds", warmup_seconds},
      {"pass_seconds", seconds},
      {"best_mb_per_s", static_cast<double>(bytes) / best / 1e6},
      {"best_tokens_per_s", static_cast<double>(tokens) / best},
  };
  std::cout << report.dump(2) << "\n";
  return 0;
}
