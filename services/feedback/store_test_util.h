// What the feedback store's tests share: a fake clock, a store on either backend (a SQLite
// file in a temp folder, or a database on one real PostgreSQL server started for the test
// binary), and small campaign and item builders.
#ifndef REIN_SERVICES_FEEDBACK_STORE_TEST_UTIL_H_
#define REIN_SERVICES_FEEDBACK_STORE_TEST_UTIL_H_

#include <atomic>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/testing/postgres_server.h"
#include "common/testing/subprocess.h"
#include "services/feedback/feedback_store.h"

namespace rein::feedback::testing {

using rein::testing::MakeTempDir;
using rein::testing::PostgresServer;

// A fake clock the test moves; starts at a fixed instant.
struct TestClock {
  std::atomic<int64_t> now{1'700'000'000'000'000};
  void Advance(absl::Duration d) { now += absl::ToInt64Microseconds(d); }
};

inline PostgresServer* SharedPostgres(std::string* why_not) {
  static absl::StatusOr<std::unique_ptr<PostgresServer>>* server =
      new absl::StatusOr<std::unique_ptr<PostgresServer>>(PostgresServer::Start());
  if (!server->ok()) {
    *why_not = std::string(server->status().message());
    return nullptr;
  }
  return server->value().get();
}

// A fresh, empty database on the named backend; nullptr (with a warning saying why) when
// PostgreSQL cannot run here.
inline std::unique_ptr<sql::Database> OpenDatabase(const std::string& backend) {
  std::unique_ptr<sql::Database> db;
  if (backend == "sqlite") {
    const std::string dir = MakeTempDir("feedback-store");
    auto opened = sql::OpenSqlite({.path = dir + "/feedback.db"});
    REQUIRE(opened.ok());
    db = *std::move(opened);
  } else {
    std::string why;
    PostgresServer* pg = SharedPostgres(&why);
    if (pg == nullptr) {
      WARN("PostgreSQL backend skipped: " << why);
      return nullptr;
    }
    static std::atomic<int> next_database{0};
    auto database = pg->CreateDatabase(absl::StrCat("store_", next_database++));
    REQUIRE(database.ok());
    auto opened = sql::OpenPostgres({.conninfo = *database});
    REQUIRE(opened.ok());
    db = *std::move(opened);
  }
  return db;
}

// A fresh store on the named backend; nullptr (with the test skipped) when PostgreSQL cannot run.
inline std::unique_ptr<FeedbackStore> OpenStore(const std::string& backend, TestClock* clock,
                                                FeedbackStoreOptions options = {}) {
  options.now_us = [clock] { return clock->now.load(); };
  std::unique_ptr<sql::Database> db = OpenDatabase(backend);
  if (db == nullptr) return nullptr;
  auto store = FeedbackStore::Open(std::move(db), options);
  REQUIRE(store.ok());
  return *std::move(store);
}

inline Campaign PairwiseSpec(const std::string& name, int overlap, double gold_rate = 0) {
  Campaign c;
  c.name = name;
  c.guidelines_markdown = "# Pick the better answer";
  c.questions = {QuestionType::kPairwise, QuestionType::kComment};
  c.overlap = overlap;
  c.gold_rate = gold_rate;
  return c;
}

inline Item PairItem(const std::string& external_id, bool gold = false) {
  Item item;
  item.external_id = external_id;
  item.prompt = "prompt " + external_id;
  item.responses = {{"first " + external_id, {}}, {"second " + external_id, {}}};
  item.gold = gold;
  if (gold) item.gold_answer.pairwise = PairwiseChoice::kA;
  return item;
}

inline Answers ChooseA() {
  Answers a;
  a.pairwise = PairwiseChoice::kA;
  return a;
}

inline Annotator NewAnnotator(FeedbackStore& store, const std::string& name) {
  auto created = store.CreateAnnotator(name, AnnotatorRole::kAnnotator, false);
  REQUIRE(created.ok());
  return created->first;
}

inline constexpr const char* kBackends[] = {"sqlite", "postgres"};

}  // namespace rein::feedback::testing

#endif  // REIN_SERVICES_FEEDBACK_STORE_TEST_UTIL_H_
