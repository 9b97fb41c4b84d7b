// Assignment rules beyond the basics of feedback_store_test.cc, on both backends: campaigns
// only experts may judge, the order tasks come in when slots are given back behind an
// annotator, and a store written by schema 1 that upgrades with its counts intact.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/feedback/schema.h"
#include "services/feedback/store_codec.h"
#include "services/feedback/store_test_util.h"

namespace rein::feedback {
namespace {

using testing::ChooseA;
using testing::kBackends;
using testing::NewAnnotator;
using testing::OpenStore;
using testing::PairItem;
using testing::PairwiseSpec;
using testing::TestClock;

std::vector<Item> Items(const std::string& prefix, int n) {
  std::vector<Item> items;
  for (int i = 0; i < n; ++i) items.push_back(PairItem(absl::StrCat(prefix, i)));
  return items;
}

// The external id of the next task, or "" when there is none; the task stays leased.
std::string Next(FeedbackStore& store, const std::string& campaign, const Annotator& who,
                 std::string* lease_id = nullptr) {
  auto task = store.NextTask(campaign, who);
  REQUIRE(task.ok());
  if (!task->has_value()) return "";
  if (lease_id != nullptr) *lease_id = (*task)->lease_id;
  return (*task)->item.external_id;
}

TEST_CASE("a campaign for experts refuses annotators and serves experts and admins") {
  for (const char* backend : kBackends) {
    TestClock clock;
    auto store = OpenStore(backend, &clock);
    if (!store) continue;
    INFO(backend);
    Campaign spec = PairwiseSpec("experts", 1);
    spec.min_role = AnnotatorRole::kExpert;
    auto c = store->CreateCampaign(spec);
    REQUIRE(c.ok());
    REQUIRE(store->AddItems(c->id, Items("e", 3)).ok());
    auto read_back = store->GetCampaign("experts");
    REQUIRE(read_back.ok());
    CHECK(read_back->min_role == AnnotatorRole::kExpert);

    Annotator anna = NewAnnotator(*store, "anna");
    auto refused = store->NextTask(c->id, anna);
    CHECK(absl::IsPermissionDenied(refused.status()));
    CHECK(absl::StrContains(refused.status().message(), "expert"));
    for (AnnotatorRole role : {AnnotatorRole::kExpert, AnnotatorRole::kAdmin}) {
      auto created = store->CreateAnnotator(Name(role), role, false);
      REQUIRE(created.ok());
      CHECK_FALSE(Next(*store, c->id, created->first).empty());
    }
    // Everyone may judge an ordinary campaign.
    auto open = store->CreateCampaign(PairwiseSpec("everyone", 1));
    REQUIRE(open.ok());
    REQUIRE(store->AddItems(open->id, Items("o", 1)).ok());
    CHECK(Next(*store, open->id, anna) == "o0");
  }
}

TEST_CASE("tasks come in item order from the annotator's frontier, slots given back behind it "
          "come last") {
  for (const char* backend : kBackends) {
    TestClock clock;
    FeedbackStoreOptions options;
    options.max_open_leases = 1;
    auto store = OpenStore(backend, &clock, options);
    if (!store) continue;
    INFO(backend);
    auto c = store->CreateCampaign(PairwiseSpec("order", 2));
    REQUIRE(c.ok());
    REQUIRE(store->AddItems(c->id, Items("i", 6)).ok());
    Annotator a = NewAnnotator(*store, "a");
    Annotator b = NewAnnotator(*store, "b");
    Annotator carol = NewAnnotator(*store, "carol");
    std::string a_lease, b_lease, lease;
    // a and b hold both slots of i0, so carol starts at i1.
    REQUIRE(Next(*store, c->id, a, &a_lease) == "i0");
    REQUIRE(Next(*store, c->id, b, &b_lease) == "i0");
    REQUIRE(Next(*store, c->id, carol, &lease) == "i1");
    REQUIRE(store->Submit(lease, carol, ChooseA(), 1).ok());
    // b gives i0 back: its slot is open again, behind carol's frontier.
    REQUIRE(store->Skip(b_lease, b).ok());
    std::vector<std::string> order;
    for (int i = 0; i < 10; ++i) {
      const std::string next = Next(*store, c->id, carol, &lease);
      if (next.empty()) break;
      order.push_back(next);
      REQUIRE(store->Submit(lease, carol, ChooseA(), 1).ok());
    }
    CHECK(order == std::vector<std::string>{"i2", "i3", "i4", "i5", "i0"});
    // b skipped i0, a holds its other slot: nothing of it is left for b, the rest is.
    REQUIRE(store->Submit(a_lease, a, ChooseA(), 1).ok());
    CHECK(Next(*store, c->id, b, &lease) == "i1");
  }
}

// Writes, as schema 1 did, a campaign whose annotator "old" has judged a regular item (r0) and
// a gold one (g0), with a gold item (g1) and a regular one (r1) still to come.
void WriteSchemaOneStore(sql::Database& db, double gold_rate) {
  REQUIRE(MigrateTo(db, 1).ok());
  Item regular = PairItem("r0");
  Item gold = PairItem("g0", /*gold=*/true);
  Item fresh_gold = PairItem("g1", /*gold=*/true);
  Item fresh = PairItem("r1");
  absl::Status written = db.Write([&](sql::Connection& c) -> absl::Status {
    auto exec = [&c](const std::string& sql, std::vector<sql::Value> values) {
      return c.Exec(sql, values).status();
    };
    absl::Status s = exec(
        "INSERT INTO annotators (id, name, role, synthetic, paused, token_hash, created_us) "
        "VALUES ('an_old', 'old', 'annotator', 0, 0, 'hash', 1)", {});
    if (s.ok()) {
      s = exec("INSERT INTO campaigns (id, name, guidelines, guideline_version, questions, "
               "overlap, gold_rate, state, created_us) VALUES ('cp_old', 'old', '', 1, ?, 1, ?, "
               "'active', 1)",
               {internal::QuestionsToJson({QuestionType::kPairwise}), gold_rate});
    }
    int64_t seq = 0;
    for (const Item* item : {&regular, &gold, &fresh_gold, &fresh}) {
      const std::string id = "it_" + item->external_id;
      if (s.ok()) {
        s = exec("INSERT INTO items (id, campaign_id, seq, external_id, prompt, context, "
                 "responses, num_responses, gold, gold_answer, created_us) VALUES (?, 'cp_old', "
                 "?, ?, ?, '[]', ?, 2, ?, ?, 1)",
                 {id, seq, item->external_id, item->prompt,
                  internal::ResponsesToJson(item->responses), int64_t{item->gold ? 1 : 0},
                  item->gold ? internal::StoredAnswersToJson(item->gold_answer) : "{}"});
      }
      // Regular items have their slot; gold ones only once shown. The first two are done.
      const bool done = seq < 2;
      if (s.ok() && (!item->gold || done)) {
        s = exec("INSERT INTO slots (id, item_id, campaign_id, seq, slot_no, gold, state, "
                 "annotator_id, expires_us, leased_us, shown) VALUES (?, ?, 'cp_old', ?, ?, ?, ?, "
                 "?, 0, 0, '[0,1]')",
                 {"sl_" + item->external_id, id, seq, int64_t{item->gold ? -1 : 0},
                  int64_t{item->gold ? 1 : 0}, std::string(done ? "done" : "open"),
                  done ? sql::Value{std::string("an_old")} : sql::Value{}});
      }
      ++seq;
    }
    return s;
  });
  REQUIRE(written.ok());
}

TEST_CASE("a store written by schema 1 upgrades: everyone may judge, counts carry over") {
  for (const char* backend : kBackends) {
    TestClock clock;
    std::unique_ptr<sql::Database> db = testing::OpenDatabase(backend);
    if (db == nullptr) continue;
    INFO(backend);
    WriteSchemaOneStore(*db, /*gold_rate=*/0.25);
    FeedbackStoreOptions options;
    options.now_us = [&clock] { return clock.now.load(); };
    auto store = FeedbackStore::Open(std::move(db), options);
    REQUIRE(store.ok());
    auto campaign = (*store)->GetCampaign("old");
    REQUIRE(campaign.ok());
    CHECK(campaign->min_role == AnnotatorRole::kAnnotator);
    auto old = (*store)->GetAnnotator("old");
    REQUIRE(old.ok());
    // One regular and one gold task already: at gold rate 0.25 the next is regular (1 gold is
    // not below 0.25 x 3 tasks); with the counts lost it would be the gold g1 (0 < 0.25 x 1).
    std::string lease;
    CHECK(Next(**store, "old", *old, &lease) == "r1");
    REQUIRE((*store)->Submit(lease, *old, ChooseA(), 1).ok());
    CHECK(Next(**store, "old", *old, &lease) == "");  // gold comes only beside real work
  }
}

}  // namespace
}  // namespace rein::feedback
