// The feedback store against both backends: one suite, run on SQLite (a file in a temp folder)
// and on a real PostgreSQL server started for the test (skipped, saying why, where it cannot
// start).
#include "services/feedback/feedback_store.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/subprocess.h"
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

TEST_CASE("campaigns are validated, unique by name and found by id or name") {
  for (const char* backend : kBackends) {
    TestClock clock;
    auto store = OpenStore(backend, &clock);
    if (!store) continue;
    INFO(backend);
    auto c = store->CreateCampaign(PairwiseSpec("round-1", 3));
    REQUIRE(c.ok());
    CHECK(c->guideline_version == 1);
    CHECK(absl::IsAlreadyExists(store->CreateCampaign(PairwiseSpec("round-1", 3)).status()));
    Campaign bad = PairwiseSpec("bad", 0);
    absl::Status status = store->CreateCampaign(bad).status();
    CHECK(absl::IsInvalidArgument(status));
    CHECK(absl::StartsWith(status.message(), "overlap:"));
    CHECK(store->GetCampaign("round-1")->id == c->id);
    CHECK(store->GetCampaign(c->id)->name == "round-1");
    CHECK(absl::IsNotFound(store->GetCampaign("nope").status()));
    auto updated = store->UpdateCampaign("round-1", std::string("# New rules"), std::nullopt);
    REQUIRE(updated.ok());
    CHECK(updated->guideline_version == 2);
  }
}

TEST_CASE("items are validated as a whole and added once per external id") {
  for (const char* backend : kBackends) {
    TestClock clock;
    auto store = OpenStore(backend, &clock);
    if (!store) continue;
    INFO(backend);
    auto c = store->CreateCampaign(PairwiseSpec("c", 2));
    REQUIRE(c.ok());
    Item three = PairItem("x");
    three.responses.push_back({"third", {}});
    auto refused = store->AddItems(c->id, {PairItem("a"), three});
    REQUIRE(absl::IsInvalidArgument(refused.status()));
    CHECK(absl::StartsWith(refused.status().message(), "items[1].responses"));
    auto first = store->AddItems(c->id, {PairItem("a"), PairItem("b")});
    REQUIRE(first.ok());
    CHECK(first->added == 2);
    auto again = store->AddItems(c->id, {PairItem("a"), PairItem("c")});
    REQUIRE(again.ok());
    CHECK(again->added == 1);
    CHECK(again->item_ids[0] == first->item_ids[0]);
    auto data = store->LoadCampaign(c->id);
    REQUIRE(data.ok());
    CHECK(data->items.size() == 3);
    // An id repeated in one call is added once; lookups span more than one chunk of ids.
    std::vector<Item> many;
    for (int i = 0; i < 600; ++i) many.push_back(PairItem(absl::StrCat("m", i % 500)));
    many.push_back(PairItem("b"));
    auto bulk = store->AddItems(c->id, many);
    REQUIRE(bulk.ok());
    CHECK(bulk->added == 500);
    REQUIRE(bulk->item_ids.size() == 601);
    CHECK(bulk->item_ids[500] == bulk->item_ids[0]);
    CHECK(bulk->item_ids[600] == first->item_ids[1]);
    auto repeat = store->AddItems(c->id, many);
    REQUIRE(repeat.ok());
    CHECK(repeat->added == 0);
    CHECK(repeat->item_ids == bulk->item_ids);
  }
}

TEST_CASE("many concurrent annotators: every item gets exactly N judgements by distinct people") {
  for (const char* backend : kBackends) {
    TestClock clock;
    auto store = OpenStore(backend, &clock);
    if (!store) continue;
    INFO(backend);
    constexpr int kItems = 30, kOverlap = 3, kAnnotators = 12;
    auto c = store->CreateCampaign(PairwiseSpec("exact", kOverlap));
    REQUIRE(c.ok());
    std::vector<Item> items;
    for (int i = 0; i < kItems; ++i) items.push_back(PairItem(absl::StrCat("i", i)));
    REQUIRE(store->AddItems(c->id, items).ok());
    std::vector<Annotator> people;
    for (int a = 0; a < kAnnotators; ++a) people.push_back(NewAnnotator(*store, absl::StrCat("p", a)));
    std::atomic<int> errors{0}, submitted{0};
    std::vector<std::thread> threads;
    for (int a = 0; a < kAnnotators; ++a) {
      threads.emplace_back([&, a] {
        for (int step = 0; step < kItems + 5; ++step) {
          auto task = store->NextTask(c->id, people[a]);
          if (!task.ok()) {
            ++errors;
            return;
          }
          if (!task->has_value()) return;
          // Every third annotator skips a task now and then: the slot must go to someone else.
          if (a % 3 == 0 && step % 4 == 1) {
            if (!store->Skip((*task)->lease_id, people[a]).ok()) ++errors;
            continue;
          }
          auto id = store->Submit((*task)->lease_id, people[a], ChooseA(), 1.0);
          if (id.ok()) ++submitted; else ++errors;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(errors == 0);
    CHECK(submitted == kItems * kOverlap);
    auto data = store->LoadCampaign(c->id);
    REQUIRE(data.ok());
    std::map<std::string, std::set<std::string>> by_item;
    int count = 0;
    for (const Judgement& j : data->judgements) {
      if (j.status != JudgementStatus::kSubmitted) continue;
      ++count;
      CHECK(by_item[j.item_id].insert(j.annotator_id).second);  // distinct annotators
    }
    CHECK(count == kItems * kOverlap);
    CHECK(by_item.size() == static_cast<size_t>(kItems));
    for (const auto& [item, who] : by_item) CHECK(who.size() == static_cast<size_t>(kOverlap));
  }
}

TEST_CASE("a submission on a lost lease is refused and stores nothing") {
  for (const char* backend : kBackends) {
    TestClock clock;
    FeedbackStoreOptions options;
    options.lease_duration = absl::Minutes(5);
    auto store = OpenStore(backend, &clock, options);
    if (!store) continue;
    INFO(backend);
    auto c = store->CreateCampaign(PairwiseSpec("lease", 1));
    REQUIRE(c.ok());
    REQUIRE(store->AddItems(c->id, {PairItem("only")}).ok());
    Annotator alice = NewAnnotator(*store, "alice");
    Annotator bob = NewAnnotator(*store, "bob");
    auto a = store->NextTask(c->id, alice);
    REQUIRE(a.ok());
    REQUIRE(a->has_value());
    // While alice holds it, bob gets nothing (overlap 1).
    auto none = store->NextTask(c->id, bob);
    REQUIRE(none.ok());
    CHECK(!none->has_value());
    clock.Advance(absl::Minutes(6));
    auto b = store->NextTask(c->id, bob);
    REQUIRE(b.ok());
    REQUIRE(b->has_value());
    CHECK((*b)->item.id == (*a)->item.id);
    absl::Status late = store->Submit((*a)->lease_id, alice, ChooseA(), 1).status();
    CHECK(absl::IsFailedPrecondition(late));
    auto ok = store->Submit((*b)->lease_id, bob, ChooseA(), 1);
    REQUIRE(ok.ok());
    // A retried submission returns the stored judgement instead of a second one.
    auto retried = store->Submit((*b)->lease_id, bob, ChooseA(), 1);
    REQUIRE(retried.ok());
    CHECK(*retried == *ok);
    auto data = store->LoadCampaign(c->id);
    REQUIRE(data.ok());
    REQUIRE(data->judgements.size() == 1);
    CHECK(data->judgements[0].annotator_id == bob.id);
  }
}

TEST_CASE("skipped items go to others and never back, shown order is shuffled and recorded") {
  for (const char* backend : kBackends) {
    TestClock clock;
    auto store = OpenStore(backend, &clock);
    if (!store) continue;
    INFO(backend);
    auto c = store->CreateCampaign(PairwiseSpec("skip", 1));
    REQUIRE(c.ok());
    std::vector<Item> items;
    for (int i = 0; i < 40; ++i) items.push_back(PairItem(absl::StrCat("s", i)));
    REQUIRE(store->AddItems(c->id, items).ok());
    Annotator alice = NewAnnotator(*store, "alice");
    Annotator bob = NewAnnotator(*store, "bob");
    auto first = store->NextTask(c->id, alice);
    REQUIRE(first.ok());
    REQUIRE(first->has_value());
    const std::string skipped_item = (*first)->item.id;
    REQUIRE(store->Skip((*first)->lease_id, alice).ok());
    auto for_bob = store->NextTask(c->id, bob);
    REQUIRE(for_bob.ok());
    CHECK((*for_bob)->item.id == skipped_item);
    int swapped = 0;
    for (int i = 0; i < 39; ++i) {
      auto t = store->NextTask(c->id, alice);
      REQUIRE(t.ok());
      if (!t->has_value()) break;
      CHECK((*t)->item.id != skipped_item);
      const std::vector<int>& order = (*t)->shown_order;
      REQUIRE(order.size() == 2);
      CHECK(std::set<int>(order.begin(), order.end()) == std::set<int>{0, 1});
      swapped += order[0] == 1 ? 1 : 0;
      REQUIRE(store->Submit((*t)->lease_id, alice, ChooseA(), 1).ok());
    }
    // 38 or 39 fair coin flips: both sides must come up (odds of failing ~ 2^-37).
    CHECK(swapped > 0);
    CHECK(swapped < 38);
  }
}

TEST_CASE("gold items are mixed in at the campaign's rate, once each per annotator") {
  for (const char* backend : kBackends) {
    TestClock clock;
    auto store = OpenStore(backend, &clock);
    if (!store) continue;
    INFO(backend);
    auto c = store->CreateCampaign(PairwiseSpec("gold", 1, 0.25));
    REQUIRE(c.ok());
    std::vector<Item> items;
    for (int i = 0; i < 30; ++i) items.push_back(PairItem(absl::StrCat("r", i)));
    for (int i = 0; i < 10; ++i) items.push_back(PairItem(absl::StrCat("g", i), /*gold=*/true));
    REQUIRE(store->AddItems(c->id, items).ok());
    Annotator alice = NewAnnotator(*store, "alice");
    int gold = 0, total = 0;
    std::set<std::string> seen;
    for (int i = 0; i < 20; ++i) {
      auto t = store->NextTask(c->id, alice);
      REQUIRE(t.ok());
      REQUIRE(t->has_value());
      CHECK(seen.insert((*t)->item.id).second);
      gold += (*t)->item.gold ? 1 : 0;
      ++total;
      REQUIRE(store->Submit((*t)->lease_id, alice, ChooseA(), 1).ok());
    }
    CHECK(gold == 5);  // 25% of 20, by the deterministic mixing rule
    auto golds = store->GoldJudgements(alice.id);
    REQUIRE(golds.ok());
    CHECK(golds->size() == 5);
  }
}

TEST_CASE("open leases are capped, paused annotators get no work") {
  for (const char* backend : kBackends) {
    TestClock clock;
    FeedbackStoreOptions options;
    options.max_open_leases = 1;
    auto store = OpenStore(backend, &clock, options);
    if (!store) continue;
    INFO(backend);
    auto c1 = store->CreateCampaign(PairwiseSpec("one", 1));
    auto c2 = store->CreateCampaign(PairwiseSpec("two", 1));
    REQUIRE(c1.ok());
    REQUIRE(c2.ok());
    REQUIRE(store->AddItems(c1->id, {PairItem("a")}).ok());
    REQUIRE(store->AddItems(c2->id, {PairItem("b")}).ok());
    Annotator alice = NewAnnotator(*store, "alice");
    auto t1 = store->NextTask(c1->id, alice);
    REQUIRE(t1.ok());
    // Asking again in the same campaign resumes the task held.
    auto again = store->NextTask(c1->id, alice);
    REQUIRE(again.ok());
    CHECK((*again)->lease_id == (*t1)->lease_id);
    CHECK(absl::IsResourceExhausted(store->NextTask(c2->id, alice).status()));
    REQUIRE(store->SetAnnotatorPaused("alice", true).ok());
    auto paused = store->GetAnnotator("alice");
    REQUIRE(paused.ok());
    CHECK(absl::IsPermissionDenied(store->NextTask(c2->id, *paused).status()));
  }
}

TEST_CASE("tokens and sessions are stored hashed and expire") {
  for (const char* backend : kBackends) {
    TestClock clock;
    auto store = OpenStore(backend, &clock);
    if (!store) continue;
    INFO(backend);
    auto created = store->CreateAnnotator("carol", AnnotatorRole::kExpert, false);
    REQUIRE(created.ok());
    const std::string token = created->second;
    CHECK(token.size() >= 40);
    CHECK(store->AuthenticateToken(token)->id == created->first.id);
    CHECK(absl::IsUnauthenticated(store->AuthenticateToken(token + "x").status()));
    // Nothing in the store holds the token itself.
    absl::Status scan = store->database().Read([&](sql::Connection& c) -> absl::Status {
      auto rows = c.Query("SELECT token_hash FROM annotators", {});
      if (!rows.ok()) return rows.status();
      for (const sql::Row& row : *rows) {
        CHECK(row.Text(0) != token);
        CHECK(row.Text(0) == HashSecret(token));
      }
      return absl::OkStatus();
    });
    REQUIRE(scan.ok());
    auto session = store->CreateSession(created->first.id, absl::Hours(1));
    REQUIRE(session.ok());
    auto who = store->AuthenticateSession(session->token);
    REQUIRE(who.ok());
    CHECK(who->csrf_token == session->csrf_token);
    clock.Advance(absl::Hours(2));
    CHECK(absl::IsUnauthenticated(store->AuthenticateSession(session->token).status()));
  }
}

TEST_CASE("answers given by shown position map to item order") {
  Answers by_position;
  by_position.pairwise = PairwiseChoice::kA;  // the left one, which is item response 1
  by_position.ratings = {7, 2};
  auto mapped = ToItemOrder(by_position, {1, 0});
  REQUIRE(mapped.ok());
  CHECK(mapped->pairwise == PairwiseChoice::kB);
  CHECK(mapped->ratings == std::vector<int>{2, 7});
  by_position.ratings = {1};
  CHECK(absl::IsInvalidArgument(ToItemOrder(by_position, {1, 0}).status()));
}

}  // namespace
}  // namespace rein::feedback
