#include "tools/feedback_load/load_client.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"

namespace rein::feedback_load {
namespace {

using Json = nlohmann::json;

// Answers for whatever the task asks, by shown position; varied by the annotator's RNG so the
// stored data is not degenerate.
Json AnswersFor(const Json& task, std::mt19937_64& rng) {
  const size_t k = task["item"]["responses"].size();
  Json answers = Json::object();
  for (const Json& q : task["questions"]) {
    const std::string question = q.get<std::string>();
    if (question == "pairwise") {
      answers["pairwise"] = (rng() % 2 == 0) ? "a" : "b";
    } else if (question == "ranking") {
      std::vector<int> ranks(k);
      for (size_t i = 0; i < k; ++i) ranks[i] = static_cast<int>(i) + 1;
      std::shuffle(ranks.begin(), ranks.end(), rng);
      answers["ranks"] = ranks;
    } else if (question == "rating") {
      Json ratings = Json::array();
      for (size_t i = 0; i < k; ++i) ratings.push_back(1 + static_cast<int>(rng() % 7));
      answers["ratings"] = ratings;
    } else if (question == "flag") {
      Json flags = Json::array();
      for (size_t i = 0; i < k; ++i) flags.push_back({{"approved", true}});
      answers["flags"] = flags;
    }
  }
  return answers;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

// What one annotator thread saw; merged at the end so the threads share nothing while they run.
struct ThreadResult {
  std::vector<double> submit_seconds, judgement_seconds;
  int64_t in_window = 0;  // acknowledged by the deadline
  std::vector<Acknowledged> acknowledged;
  std::map<std::string, int64_t> errors;
  int64_t retried = 0;
};

class AnnotatorLoop {
 public:
  AnnotatorLoop(const LoadOptions& options, const std::string& token, uint64_t seed,
                absl::Time deadline, std::atomic<int64_t>* total)
      : options_(options), deadline_(deadline), total_(total), rng_(seed) {
    const std::vector<std::string> hp = absl::StrSplit(options.http_address, ':');
    client_ = std::make_unique<httplib::Client>(hp[0], hp.size() > 1 ? std::stoi(hp[1]) : 80);
    client_->set_keep_alive(true);
    // httplib writes a request's headers and body separately; without TCP_NODELAY Nagle holds
    // the body until the server's delayed ACK (~40 ms), which would charge every submission
    // for a client-side artefact that browsers (which set TCP_NODELAY) do not have.
    client_->set_tcp_nodelay(true);
    client_->set_connection_timeout(std::chrono::seconds(5));
    client_->set_read_timeout(std::chrono::seconds(30));
    client_->set_write_timeout(std::chrono::seconds(30));
    headers_ = {{"Authorization", "Bearer " + token}};
  }

  ThreadResult Run() {
    const std::string next_path = absl::StrCat("/api/v1/campaigns/", options_.campaign, "/next");
    // Paced annotators start at a random phase so that they do not arrive in lockstep.
    const absl::Duration interval =
        options_.rate > 0 ? absl::Seconds(static_cast<double>(options_.tokens.size()) / options_.rate)
                          : absl::ZeroDuration();
    absl::Time scheduled = absl::Now() + interval * (static_cast<double>(rng_() % 1000) / 1000.0);
    while (absl::Now() < deadline_ && !Enough()) {
      if (options_.rate > 0) {
        const absl::Time now = absl::Now();
        if (scheduled > now) absl::SleepFor(scheduled - now);  // the schedule, not a wait for a result
      }
      const absl::Time start = options_.rate > 0 ? scheduled : absl::Now();
      scheduled += interval;
      httplib::Result next = client_->Post(next_path, headers_, "", "application/json");
      if (!next) {
        Fault("connection");
        continue;
      }
      if (next->status == 204) break;  // nothing left for this annotator
      if (next->status != 200) {
        Fault(absl::StrCat("http ", next->status, " on next"));
        continue;
      }
      Json task = Json::parse(next->body, nullptr, false);
      if (task.is_discarded() || !task.contains("task")) {
        Fault("bad next reply");
        continue;
      }
      Submit(task["task"], start);
    }
    return std::move(result_);
  }

 private:
  bool Enough() const {
    return options_.max_judgements > 0 && total_->load() >= options_.max_judgements;
  }

  void Fault(const std::string& what) {
    ++result_.errors[what];
    // Back off briefly: the server may be restarting or shedding load.
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng_() % 30));
  }

  void Submit(const Json& task, absl::Time start) {
    const std::string lease = task["lease_id"].get<std::string>();
    const std::string body =
        Json{{"answers", AnswersFor(task, rng_)}, {"seconds_spent", 1.5}}.dump();
    const std::string path = absl::StrCat("/api/v1/tasks/", lease, "/submit");
    // A lost reply leaves us not knowing whether the judgement was stored: send it again on the
    // same lease (the server answers a repeat with the stored judgement) until the deadline.
    for (int attempt = 0; absl::Now() < deadline_ + absl::Seconds(10); ++attempt) {
      if (attempt > 0) ++result_.retried;
      const absl::Time sent = absl::Now();
      httplib::Result reply = client_->Post(path, headers_, body, "application/json");
      if (!reply) {
        Fault("connection");
        continue;
      }
      if (reply->status == 503) {
        Fault("http 503");
        continue;
      }
      if (reply->status != 200) {
        ++result_.errors[absl::StrCat("http ", reply->status, " on submit")];
        return;
      }
      Json ack = Json::parse(reply->body, nullptr, false);
      if (ack.is_discarded() || !ack.contains("judgement_id")) {
        ++result_.errors["bad submit reply"];
        return;
      }
      const absl::Time done = absl::Now();
      result_.submit_seconds.push_back(absl::ToDoubleSeconds(done - sent));
      result_.judgement_seconds.push_back(absl::ToDoubleSeconds(done - start));
      result_.acknowledged.push_back({lease, ack["judgement_id"].get<std::string>()});
      if (done <= deadline_) ++result_.in_window;
      ++*total_;
      return;
    }
  }

  const LoadOptions& options_;
  absl::Time deadline_;
  std::atomic<int64_t>* total_;
  std::mt19937_64 rng_;
  std::unique_ptr<httplib::Client> client_;
  httplib::Headers headers_;
  ThreadResult result_;
};

}  // namespace

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  if (options.tokens.empty()) return absl::InvalidArgumentError("tokens: at least one is needed");
  if (options.http_address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("http_address: expected host:port");
  }
  if (options.campaign.empty()) return absl::InvalidArgumentError("campaign: required");
  const absl::Time begin = absl::Now();
  const absl::Time deadline = begin + options.duration;
  std::atomic<int64_t> total{0};
  std::vector<ThreadResult> results(options.tokens.size());
  std::vector<std::thread> threads;
  threads.reserve(options.tokens.size());
  for (size_t i = 0; i < options.tokens.size(); ++i) {
    threads.emplace_back([&, i] {
      AnnotatorLoop loop(options, options.tokens[i], options.seed * 1000003 + i, deadline, &total);
      results[i] = loop.Run();
    });
  }
  for (std::thread& t : threads) t.join();
  LoadResult out;
  out.offered_rate = options.rate;
  out.seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  std::vector<double> submit, judgement;
  for (ThreadResult& r : results) {
    submit.insert(submit.end(), r.submit_seconds.begin(), r.submit_seconds.end());
    judgement.insert(judgement.end(), r.judgement_seconds.begin(), r.judgement_seconds.end());
    out.acknowledged.insert(out.acknowledged.end(), r.acknowledged.begin(), r.acknowledged.end());
    for (const auto& [what, n] : r.errors) out.errors[what] += n;
    out.retried_submissions += r.retried;
    out.judgements_in_window += r.in_window;
  }
  out.judgements = static_cast<int64_t>(out.acknowledged.size());
  const double window = absl::ToDoubleSeconds(options.duration);
  out.judgements_per_second =
      window > 0 ? static_cast<double>(out.judgements_in_window) / window : 0;
  out.submit_p50 = Percentile(submit, 0.50);
  out.submit_p99 = Percentile(submit, 0.99);
  out.judgement_p50 = Percentile(judgement, 0.50);
  out.judgement_p99 = Percentile(judgement, 0.99);
  return out;
}

}  // namespace rein::feedback_load
