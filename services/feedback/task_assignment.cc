// FeedbackStore: handing out tasks under leases, drafts, submissions and skips. The rules are in
// feedback_store.h; every step is one transaction, and every claim is a conditional UPDATE that
// re-checks the slot is still free, so concurrent replicas cannot lease one slot twice.
#include <algorithm>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/feedback/feedback_store.h"
#include "services/feedback/store_codec.h"

namespace rein::feedback {
namespace {

using sql::Connection;
using sql::Row;
using sql::Value;

// Claims can lose a race to another replica (the conditional UPDATE changes no row, or a unique
// index refuses); the claim is then retried on the next candidate a bounded number of times.
constexpr int kClaimAttempts = 8;

// PostgreSQL locks the candidate row so concurrent replicas pick different ones; SQLite
// serialises writers, so it needs no lock clause.
std::string LockClause(const Connection& c) {
  return c.dialect() == sql::Dialect::kPostgres ? " FOR UPDATE OF s SKIP LOCKED" : "";
}

// A shuffled showing, seeded by the lease id so that it is recorded and reproducible.
std::vector<int> ShuffledOrder(int num_responses, const std::string& lease_id) {
  std::vector<int> order(num_responses);
  std::iota(order.begin(), order.end(), 0);
  std::seed_seq seed(lease_id.begin(), lease_id.end());
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

// What has been handed to one annotator in one campaign (the assignment_counts row; zeros and
// frontier -1 before their first task).
struct Counts {
  int64_t regular = 0;
  int64_t gold = 0;
  int64_t frontier = -1;  // highest item seq taken from the open pool
};

absl::StatusOr<Counts> ReadCounts(Connection& c, const std::string& campaign_id,
                                  const std::string& annotator_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   c.Query("SELECT regular, gold, frontier FROM assignment_counts WHERE "
                           "annotator_id = ? AND campaign_id = ?",
                           {annotator_id, campaign_id}));
  if (rows.empty()) return Counts{};
  return Counts{rows[0].Int(0), rows[0].Int(1), rows[0].Int(2)};
}

// Counts one more task for the annotator; `frontier` (-1 = unchanged) can only move up.
absl::Status CountTask(Connection& c, const std::string& campaign_id,
                       const std::string& annotator_id, bool gold, int64_t frontier) {
  return c
      .Exec("INSERT INTO assignment_counts (annotator_id, campaign_id, regular, gold, frontier) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (annotator_id, campaign_id) DO UPDATE SET "
            "regular = assignment_counts.regular + excluded.regular, "
            "gold = assignment_counts.gold + excluded.gold, "
            "frontier = CASE WHEN excluded.frontier > assignment_counts.frontier "
            "THEN excluded.frontier ELSE assignment_counts.frontier END",
            {annotator_id, campaign_id, int64_t{gold ? 0 : 1}, int64_t{gold ? 1 : 0}, frontier})
      .status();
}

// A free non-gold slot, and whether it came from the open pool (which moves the frontier).
struct Candidate {
  std::string slot_id;
  int64_t seq = 0;
  bool from_pool = false;
};

// A free non-gold slot this annotator may take: expired leases first (they have waited
// longest), then open slots in item order so items complete one after another — first above
// the annotator's frontier, where nearly every slot is eligible, and only when that is empty
// below it (slots given back by a skip). So the search does not walk past the slots of items
// the annotator already judged, which in a long campaign with a fast annotator and slow others
// would be most of the campaign. Eligibility is checked on every row whatever the frontier.
absl::StatusOr<std::optional<Candidate>> FindRegularSlot(Connection& c,
                                                         const std::string& campaign_id,
                                                         const std::string& annotator_id,
                                                         int64_t now, int64_t frontier) {
  const std::string eligible =
      " AND NOT EXISTS (SELECT 1 FROM slots o WHERE o.item_id = s.item_id AND "
      "o.annotator_id = ? AND o.id <> s.id)"
      " AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.item_id = s.item_id AND "
      "k.annotator_id = ?)";
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      c.Query(absl::StrCat("SELECT s.id, s.seq FROM slots s WHERE s.campaign_id = ? AND "
                           "s.state = 'leased' AND s.gold = 0 AND s.expires_us < ?",
                           eligible, " ORDER BY s.expires_us LIMIT 1", LockClause(c)),
              {campaign_id, now, annotator_id, annotator_id}));
  if (!rows.empty()) return Candidate{rows[0].Text(0), rows[0].Int(1), false};
  for (const char* range : {" AND s.seq > ?", " AND s.seq <= ?"}) {
    ASSIGN_OR_RETURN(rows, c.Query(absl::StrCat("SELECT s.id, s.seq FROM slots s WHERE "
                                                "s.campaign_id = ? AND s.state = 'open' AND "
                                                "s.gold = 0",
                                                range, eligible,
                                                " ORDER BY s.seq, s.slot_no LIMIT 1",
                                                LockClause(c)),
                                   {campaign_id, frontier, annotator_id, annotator_id}));
    if (!rows.empty()) return Candidate{rows[0].Text(0), rows[0].Int(1), true};
    if (frontier < 0) break;  // the first range was the whole pool
  }
  return std::nullopt;
}

// Leases `slot_id` if it is still free. Returns false when another claim got there first.
absl::StatusOr<bool> ClaimSlot(Connection& c, const std::string& slot_id,
                               const std::string& annotator_id, const std::string& lease_id,
                               int64_t now, int64_t expires, const std::string& shown) {
  ASSIGN_OR_RETURN(
      int64_t changed,
      c.Exec("UPDATE slots SET state = 'leased', annotator_id = ?, lease_id = ?, expires_us = ?, "
             "leased_us = ?, shown = ?, draft = NULL WHERE id = ? AND (state = 'open' OR "
             "(state = 'leased' AND expires_us < ?))",
             {annotator_id, lease_id, expires, now, shown, slot_id, now}));
  return changed == 1;
}

// The next gold item this annotator has not been shown, as a fresh slot.
absl::StatusOr<std::optional<std::string>> ClaimGold(Connection& c, const std::string& campaign_id,
                                                     const std::string& annotator_id,
                                                     const std::string& lease_id, int64_t now,
                                                     int64_t expires) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   c.Query("SELECT i.id, i.seq, i.num_responses FROM items i WHERE "
                           "i.campaign_id = ? AND i.gold = 1 AND NOT EXISTS (SELECT 1 FROM slots "
                           "o WHERE o.item_id = i.id AND o.annotator_id = ?) ORDER BY i.seq LIMIT 1",
                           {campaign_id, annotator_id}));
  if (rows.empty()) return std::nullopt;
  const std::string slot_id = NewId("sl");
  const std::string shown =
      internal::OrderToJson(ShuffledOrder(static_cast<int>(rows[0].Int(2)), lease_id));
  RETURN_IF_ERROR(c.Exec("INSERT INTO slots (id, item_id, campaign_id, seq, slot_no, gold, state, "
                         "annotator_id, lease_id, expires_us, leased_us, shown) "
                         "VALUES (?, ?, ?, ?, -1, 1, 'leased', ?, ?, ?, ?, ?)",
                         {slot_id, rows[0].Text(0), campaign_id, rows[0].Int(1), annotator_id,
                          lease_id, expires, now, shown})
                      .status());
  return slot_id;
}

// Whether this task should be gold: keeps the share of gold among the tasks handed to the
// annotator near gold_rate.
bool WantGold(const Campaign& campaign, const Counts& counts) {
  if (campaign.gold_rate <= 0) return false;
  return static_cast<double>(counts.gold) <
         campaign.gold_rate * static_cast<double>(counts.gold + counts.regular + 1);
}

absl::StatusOr<Task> LoadTask(Connection& c, const std::string& slot_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   c.Query("SELECT s.lease_id, s.expires_us, s.shown, s.draft, s.item_id, "
                           "s.campaign_id FROM slots s WHERE s.id = ?",
                           {slot_id}));
  if (rows.empty()) return absl::InternalError("feedback store: claimed slot vanished");
  Task task;
  task.lease_id = rows[0].Text(0);
  task.expires_us = rows[0].Int(1);
  ASSIGN_OR_RETURN(task.shown_order, internal::OrderFromJson(rows[0].Text(2)));
  const bool has_draft = !rows[0].IsNull(3);
  const std::string draft = rows[0].Text(3);
  ASSIGN_OR_RETURN(std::vector<Row> items,
                   c.Query(absl::StrCat("SELECT ", internal::kItemColumns,
                                        " FROM items WHERE id = ?"),
                           {rows[0].Text(4)}));
  ASSIGN_OR_RETURN(std::vector<Row> campaigns,
                   c.Query(absl::StrCat("SELECT ", internal::kCampaignColumns,
                                        " FROM campaigns WHERE id = ?"),
                           {rows[0].Text(5)}));
  if (items.empty() || campaigns.empty()) {
    return absl::InternalError("feedback store: slot without item or campaign");
  }
  ASSIGN_OR_RETURN(task.item, internal::ItemFromRow(items[0]));
  ASSIGN_OR_RETURN(task.campaign, internal::CampaignFromRow(campaigns[0]));
  if (has_draft) {
    ASSIGN_OR_RETURN(Answers answers,
                     internal::StoredAnswersFromJson(
                         draft, static_cast<int>(task.item.responses.size())));
    task.draft = std::move(answers);
  }
  return task;
}

absl::Status RequireActive(const Campaign& campaign) {
  if (campaign.state != CampaignState::kActive) {
    return absl::FailedPreconditionError(
        absl::StrCat("campaign '", campaign.name, "' is ", Name(campaign.state)));
  }
  return absl::OkStatus();
}

absl::Status LostLease(const std::string& lease_id) {
  return absl::FailedPreconditionError(absl::StrCat(
      "lease ", lease_id, " is not held: it expired, another annotator took the task, or it "
      "never existed; ask for the next task"));
}

}  // namespace

absl::StatusOr<std::optional<Task>> FeedbackStore::NextTask(const std::string& campaign_id,
                                                            const Annotator& annotator) {
  // Three steps so that the one writer does only what must be serialised: a read checks the
  // campaign and the annotator and finds a task they already hold; the write claims a slot;
  // a read loads what the annotator is shown. (Readers run beside the writer.)
  std::optional<Campaign> campaign;
  std::optional<std::string> slot;
  const sql::TransactionFn check = [&](Connection& c) -> absl::Status {
    slot.reset();
    ASSIGN_OR_RETURN(std::vector<Row> found,
                     c.Query(absl::StrCat("SELECT ", internal::kCampaignColumns,
                                          " FROM campaigns WHERE id = ? OR name = ?"),
                             {campaign_id, campaign_id}));
    if (found.empty()) {
      return absl::NotFoundError(absl::StrCat("campaign '", campaign_id, "' not found"));
    }
    ASSIGN_OR_RETURN(campaign, internal::CampaignFromRow(found[0]));
    RETURN_IF_ERROR(RequireActive(*campaign));
    ASSIGN_OR_RETURN(std::vector<Row> me,
                     c.Query("SELECT paused, role FROM annotators WHERE id = ?", {annotator.id}));
    if (me.empty()) return absl::UnauthenticatedError("annotator no longer exists");
    if (me[0].Int(0) != 0) {
      return absl::PermissionDeniedError(
          "annotator is paused (gold accuracy below the campaign's bar, or by an admin)");
    }
    const std::optional<AnnotatorRole> role = ParseAnnotatorRole(me[0].Text(1));
    if (!role || !RoleAtLeast(*role, campaign->min_role)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "campaign '", campaign->name, "' is for ", Name(campaign->min_role),
          "s and above; this annotator's role is ", me[0].Text(1)));
    }
    // A task already leased in this campaign comes back (a reloaded page resumes it).
    ASSIGN_OR_RETURN(std::vector<Row> held,
                     c.Query("SELECT id FROM slots WHERE annotator_id = ? AND campaign_id = ? AND "
                             "state = 'leased' AND expires_us >= ? ORDER BY leased_us LIMIT 1",
                             {annotator.id, campaign->id, Now()}));
    if (!held.empty()) slot = held[0].Text(0);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(check));
  if (!slot) {
    ASSIGN_OR_RETURN(slot, ClaimTask(*campaign, annotator));
    if (!slot) return std::nullopt;  // nothing left for this annotator
  }
  std::optional<Task> task;
  const sql::TransactionFn load = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(task, LoadTask(c, *slot));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(load));
  return task;
}

absl::StatusOr<std::optional<std::string>> FeedbackStore::ClaimTask(const Campaign& campaign,
                                                                    const Annotator& annotator) {
  std::optional<std::string> slot;
  const int64_t lease_us = absl::ToInt64Microseconds(options_.lease_duration);
  const sql::TransactionFn attempt = [&](Connection& c) -> absl::Status {
    slot.reset();
    const int64_t now = Now();
    ASSIGN_OR_RETURN(std::vector<Row> open,
                     c.Query("SELECT COUNT(*) FROM slots WHERE annotator_id = ? AND state = "
                             "'leased' AND expires_us >= ?",
                             {annotator.id, now}));
    if (!open.empty() && open[0].Int(0) >= options_.max_open_leases) {
      return absl::ResourceExhaustedError(
          absl::StrCat("annotator holds ", open[0].Int(0), " open tasks (the limit is ",
                       options_.max_open_leases, "); submit or skip one first"));
    }
    const std::string lease_id = NewId("ls");
    const int64_t expires = now + lease_us;
    ASSIGN_OR_RETURN(const Counts counts, ReadCounts(c, campaign.id, annotator.id));
    if (WantGold(campaign, counts)) {
      // Gold only alongside real work: an annotator with nothing left gets no filler.
      ASSIGN_OR_RETURN(std::optional<Candidate> regular,
                       FindRegularSlot(c, campaign.id, annotator.id, now, counts.frontier));
      if (regular) {
        ASSIGN_OR_RETURN(slot, ClaimGold(c, campaign.id, annotator.id, lease_id, now, expires));
        if (slot) return CountTask(c, campaign.id, annotator.id, /*gold=*/true, -1);
      }
    }
    for (int i = 0; !slot && i < kClaimAttempts; ++i) {
      ASSIGN_OR_RETURN(std::optional<Candidate> candidate,
                       FindRegularSlot(c, campaign.id, annotator.id, now, counts.frontier));
      if (!candidate) return absl::OkStatus();  // nothing left for this annotator
      ASSIGN_OR_RETURN(std::vector<Row> size,
                       c.Query("SELECT i.num_responses FROM slots s JOIN items i ON i.id = "
                               "s.item_id WHERE s.id = ?",
                               {candidate->slot_id}));
      if (size.empty()) continue;
      const std::string shown =
          internal::OrderToJson(ShuffledOrder(static_cast<int>(size[0].Int(0)), lease_id));
      ASSIGN_OR_RETURN(bool claimed, ClaimSlot(c, candidate->slot_id, annotator.id, lease_id,
                                               now, expires, shown));
      if (!claimed) continue;
      slot = candidate->slot_id;
      RETURN_IF_ERROR(CountTask(c, campaign.id, annotator.id, /*gold=*/false,
                                candidate->from_pool ? candidate->seq : -1));
    }
    if (!slot) return absl::AbortedError("lost every claim race; try again");
    return absl::OkStatus();
  };
  absl::Status status;
  for (int i = 0; i < kClaimAttempts; ++i) {
    status = db_->Write(attempt);
    // Another replica's claim of a slot of the same item (unique index) or a lost race.
    if (!absl::IsAborted(status) && !absl::IsAlreadyExists(status)) break;
  }
  if (absl::IsAlreadyExists(status) || absl::IsAborted(status)) {
    return absl::UnavailableError(absl::StrCat("too much contention for tasks: ", status.message()));
  }
  RETURN_IF_ERROR(status);
  return slot;
}

absl::StatusOr<LeaseInfo> FeedbackStore::GetLease(const std::string& lease_id,
                                                  const std::string& annotator_id) {
  std::optional<LeaseInfo> info;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        c.Query("SELECT s.id, s.annotator_id, s.item_id, s.gold, s.shown, s.expires_us, s.state, "
                "i.num_responses, s.campaign_id FROM slots s JOIN items i ON i.id = s.item_id "
                "WHERE s.lease_id = ?",
                {lease_id}));
    if (rows.empty() || rows[0].Text(1) != annotator_id) return absl::OkStatus();
    LeaseInfo lease;
    lease.lease_id = lease_id;
    lease.slot_id = rows[0].Text(0);
    lease.annotator_id = rows[0].Text(1);
    lease.item_id = rows[0].Text(2);
    lease.gold = rows[0].Int(3) != 0;
    ASSIGN_OR_RETURN(lease.shown_order, internal::OrderFromJson(rows[0].Text(4)));
    lease.expires_us = rows[0].Int(5);
    lease.open = rows[0].Text(6) == "leased" && lease.expires_us >= Now();
    lease.num_responses = static_cast<int>(rows[0].Int(7));
    ASSIGN_OR_RETURN(std::vector<Row> campaigns,
                     c.Query(absl::StrCat("SELECT ", internal::kCampaignColumns,
                                          " FROM campaigns WHERE id = ?"),
                             {rows[0].Text(8)}));
    if (campaigns.empty()) return absl::InternalError("feedback store: lease without campaign");
    ASSIGN_OR_RETURN(lease.campaign, internal::CampaignFromRow(campaigns[0]));
    info = std::move(lease);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  if (!info) return LostLease(lease_id);
  return *info;
}

absl::Status FeedbackStore::SaveDraft(const std::string& lease_id, const std::string& annotator_id,
                                      const Answers& item_order_answers) {
  return db_->Write([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t changed,
                     c.Exec("UPDATE slots SET draft = ? WHERE lease_id = ? AND annotator_id = ? "
                            "AND state = 'leased' AND expires_us >= ?",
                            {internal::StoredAnswersToJson(item_order_answers), lease_id,
                             annotator_id, Now()}));
    return changed == 1 ? absl::OkStatus() : LostLease(lease_id);
  });
}

absl::StatusOr<std::string> FeedbackStore::Submit(const std::string& lease_id,
                                                  const Annotator& annotator,
                                                  const Answers& item_order_answers,
                                                  double seconds_spent) {
  std::string judgement_id;
  const std::string answers_json = internal::StoredAnswersToJson(item_order_answers);
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    const int64_t now = Now();
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        c.Query("SELECT s.id, s.item_id, s.campaign_id, s.state, s.annotator_id, s.expires_us, "
                "s.shown, c.guideline_version, c.state FROM slots s JOIN campaigns c ON c.id = "
                "s.campaign_id WHERE s.lease_id = ?",
                {lease_id}));
    if (rows.empty() || rows[0].Text(4) != annotator.id) return LostLease(lease_id);
    const Row& slot = rows[0];
    if (slot.Text(3) == "done") {
      // A retried submission whose first reply was lost: answer with the stored judgement
      // instead of storing it twice.
      ASSIGN_OR_RETURN(std::vector<Row> existing,
                       c.Query("SELECT id FROM judgements WHERE slot_id = ? AND annotator_id = ? "
                               "AND status = 'submitted'",
                               {slot.Text(0), annotator.id}));
      if (existing.empty()) return LostLease(lease_id);
      judgement_id = existing[0].Text(0);
      return absl::OkStatus();
    }
    if (slot.Text(3) != "leased" || slot.Int(5) < now) return LostLease(lease_id);
    if (slot.Text(8) == Name(CampaignState::kClosed)) {
      return absl::FailedPreconditionError("the campaign is closed");
    }
    ASSIGN_OR_RETURN(int64_t changed,
                     c.Exec("UPDATE slots SET state = 'done', draft = NULL WHERE id = ? AND "
                            "lease_id = ? AND state = 'leased' AND expires_us >= ?",
                            {slot.Text(0), lease_id, now}));
    if (changed != 1) return LostLease(lease_id);
    judgement_id = NewId("jd");
    return c
        .Exec("INSERT INTO judgements (id, slot_id, item_id, campaign_id, annotator_id, status, "
              "answers, shown, seconds, guideline_version, synthetic, created_us) "
              "VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?)",
              {judgement_id, slot.Text(0), slot.Text(1), slot.Text(2), annotator.id,
               answers_json, slot.Text(6), seconds_spent, slot.Int(7),
               int64_t{annotator.synthetic ? 1 : 0}, now})
        .status();
  };
  RETURN_IF_ERROR(db_->Write(txn));
  return judgement_id;
}

absl::StatusOr<std::string> FeedbackStore::RecordJudgement(const std::string& item_id,
                                                           const Annotator& annotator,
                                                           const Answers& item_order_answers) {
  std::string judgement_id;
  const std::string answers_json = internal::StoredAnswersToJson(item_order_answers);
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    const int64_t now = Now();
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        c.Query(absl::StrCat("SELECT s.id, s.campaign_id, c.guideline_version FROM slots s JOIN "
                             "campaigns c ON c.id = s.campaign_id WHERE s.item_id = ? AND s.gold = 0 "
                             "AND (s.state = 'open' OR (s.state = 'leased' AND s.expires_us < ?)) "
                             "AND NOT EXISTS (SELECT 1 FROM slots o WHERE o.item_id = s.item_id AND "
                             "o.annotator_id = ?) ORDER BY s.slot_no LIMIT 1",
                             LockClause(c)),
                {item_id, now, annotator.id}));
    if (rows.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "item ", item_id, " has no free slot, or ", annotator.name, " already judged it"));
    }
    const std::string slot_id = rows[0].Text(0);
    ASSIGN_OR_RETURN(int64_t changed,
                     c.Exec("UPDATE slots SET state = 'done', annotator_id = ?, lease_id = NULL, "
                            "leased_us = ?, draft = NULL WHERE id = ? AND (state = 'open' OR "
                            "(state = 'leased' AND expires_us < ?))",
                            {annotator.id, now, slot_id, now}));
    if (changed != 1) return absl::AbortedError("slot taken meanwhile");
    judgement_id = NewId("jd");
    return c
        .Exec("INSERT INTO judgements (id, slot_id, item_id, campaign_id, annotator_id, status, "
              "answers, shown, seconds, guideline_version, synthetic, created_us) "
              "VALUES (?, ?, ?, ?, ?, 'submitted', ?, '[]', 0, ?, ?, ?)",
              {judgement_id, slot_id, item_id, rows[0].Text(1), annotator.id, answers_json,
               rows[0].Int(2), int64_t{annotator.synthetic ? 1 : 0}, now})
        .status();
  };
  RETURN_IF_ERROR(db_->Write(txn));
  return judgement_id;
}

absl::Status FeedbackStore::Skip(const std::string& lease_id, const Annotator& annotator) {
  return db_->Write([&](Connection& c) -> absl::Status {
    const int64_t now = Now();
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     c.Query("SELECT s.id, s.item_id, s.campaign_id, s.gold, s.shown, "
                             "c.guideline_version FROM slots s JOIN campaigns c ON c.id = "
                             "s.campaign_id WHERE s.lease_id = ? AND s.annotator_id = ? AND "
                             "s.state = 'leased' AND s.expires_us >= ?",
                             {lease_id, annotator.id, now}));
    if (rows.empty()) return LostLease(lease_id);
    const Row& slot = rows[0];
    // A regular slot goes back to the pool; a gold one stays with this annotator, skipped, so
    // it is not shown to them again.
    const std::string release =
        slot.Int(3) != 0
            ? "UPDATE slots SET state = 'skipped', lease_id = NULL, draft = NULL WHERE id = ?"
            : "UPDATE slots SET state = 'open', annotator_id = NULL, lease_id = NULL, "
              "expires_us = 0, shown = '[]', draft = NULL WHERE id = ?";
    RETURN_IF_ERROR(c.Exec(release, {slot.Text(0)}).status());
    RETURN_IF_ERROR(c.Exec("INSERT INTO skips (item_id, annotator_id) VALUES (?, ?) ON CONFLICT "
                           "DO NOTHING",
                           {slot.Text(1), annotator.id})
                        .status());
    return c
        .Exec("INSERT INTO judgements (id, slot_id, item_id, campaign_id, annotator_id, status, "
              "answers, shown, seconds, guideline_version, synthetic, created_us) "
              "VALUES (?, ?, ?, ?, ?, 'skipped', '{}', ?, 0, ?, ?, ?)",
              {NewId("jd"), slot.Text(0), slot.Text(1), slot.Text(2), annotator.id, slot.Text(4),
               slot.Int(5), int64_t{annotator.synthetic ? 1 : 0}, now})
        .status();
  });
}

absl::StatusOr<AnnotatorProgress> FeedbackStore::Progress(const std::string& campaign_id,
                                                          const std::string& annotator_id) {
  AnnotatorProgress progress;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Row> done,
                     c.Query("SELECT COUNT(*) FROM judgements WHERE campaign_id = ? AND "
                             "annotator_id = ? AND status = 'submitted'",
                             {campaign_id, annotator_id}));
    // Items still open to this annotator: a free (or own) slot, not skipped, not already judged.
    ASSIGN_OR_RETURN(
        std::vector<Row> left,
        c.Query("SELECT COUNT(DISTINCT s.item_id) FROM slots s WHERE s.campaign_id = ? AND "
                "s.gold = 0 AND (s.state = 'open' OR (s.state = 'leased' AND (s.expires_us < ? OR "
                "s.annotator_id = ?))) AND NOT EXISTS (SELECT 1 FROM slots o WHERE o.item_id = "
                "s.item_id AND o.annotator_id = ? AND o.state = 'done') AND NOT EXISTS (SELECT 1 "
                "FROM skips k WHERE k.item_id = s.item_id AND k.annotator_id = ?)",
                {campaign_id, Now(), annotator_id, annotator_id, annotator_id}));
    progress.submitted = done.empty() ? 0 : static_cast<int>(done[0].Int(0));
    progress.quota = progress.submitted + (left.empty() ? 0 : static_cast<int>(left[0].Int(0)));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  return progress;
}

}  // namespace rein::feedback
