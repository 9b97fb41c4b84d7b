// The feedback store: campaigns, items, annotators, sessions, task leases and judgements, on a
// sql::Database (SQLite or PostgreSQL; the same SQL for both).
//
// Assignment. Every non-gold item has `overlap` slots. NextTask leases a slot to an annotator
// until expires_us: an open slot, or one whose lease expired (its holder lost it). A slot goes
// to an annotator who holds no other slot of the item and has not skipped it, so each item gets
// exactly `overlap` submitted judgements from distinct annotators. Submit succeeds only on the
// lease the slot still carries and before it expires: a submission on a lost lease is refused
// with FAILED_PRECONDITION and nothing is stored. Gold items have no fixed slots: each annotator
// may get each gold item once, mixed in so that about `gold_rate` of their tasks are gold.
// Every showing shuffles the responses (seeded per lease) and records the order.
//
// All of it is conditional UPDATEs inside transactions, so several rein-feedback replicas on one
// PostgreSQL store hand out slots without double-leasing; unique indexes back every invariant.
//
// Thread safety: all methods are safe to call concurrently.
#ifndef REIN_SERVICES_FEEDBACK_FEEDBACK_STORE_H_
#define REIN_SERVICES_FEEDBACK_FEEDBACK_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sql/database.h"
#include "services/feedback/feedback_types.h"

namespace rein::feedback {

struct FeedbackStoreOptions {
  // How long a leased task stays with its annotator.
  absl::Duration lease_duration = absl::Minutes(10);
  // Most unexpired leases one annotator holds at once (NextTask past it: RESOURCE_EXHAUSTED).
  int max_open_leases = 2;
  // The clock, unix microseconds. Default: absl::Now(). Tests move time forward with it.
  std::function<int64_t()> now_us;
};

// A leased task as the annotator sees it.
struct Task {
  std::string lease_id;
  int64_t expires_us = 0;
  Campaign campaign;
  Item item;                     // responses in item order; shown_order says how to show them
  std::vector<int> shown_order;  // shown_order[p] = item index of the response at position p
  std::optional<Answers> draft;  // in item order
};

// A lease being answered: what a submission is checked against.
struct LeaseInfo {
  std::string lease_id;
  std::string slot_id;
  std::string annotator_id;
  Campaign campaign;
  std::string item_id;
  int num_responses = 0;
  bool gold = false;
  std::vector<int> shown_order;
  int64_t expires_us = 0;
  bool open = false;  // still leased to this annotator and unexpired
};

struct AddItemsResult {
  std::vector<std::string> item_ids;  // in request order
  int added = 0;
};

struct Session {
  std::string token;  // the cookie value (stored hashed)
  std::string csrf_token;
  int64_t expires_us = 0;
};

struct SessionAnnotator {
  Annotator annotator;
  std::string csrf_token;
};

// Everything about one campaign that quality and export need, read in one snapshot.
struct CampaignData {
  Campaign campaign;
  std::vector<Item> items;
  std::vector<Judgement> judgements;  // submitted and skipped
  std::vector<Annotator> annotators;  // everyone who judged in the campaign
  int leases_open = 0;
};

struct AnnotatorProgress {
  int submitted = 0;  // by this annotator in the campaign
  int quota = 0;      // submitted + what is still available to them
};

class FeedbackStore {
 public:
  // Takes the database, applies migrations. Errors from the database as they are.
  static absl::StatusOr<std::unique_ptr<FeedbackStore>> Open(std::unique_ptr<sql::Database> db,
                                                             FeedbackStoreOptions options);
  FeedbackStore(const FeedbackStore&) = delete;
  FeedbackStore& operator=(const FeedbackStore&) = delete;

  // --- campaigns (admin) ---
  // Validates the spec (INVALID_ARGUMENT naming the field); ALREADY_EXISTS for a taken name.
  absl::StatusOr<Campaign> CreateCampaign(const Campaign& spec);
  // By id or by name; NOT_FOUND otherwise.
  absl::StatusOr<Campaign> GetCampaign(const std::string& id_or_name);
  absl::StatusOr<std::vector<Campaign>> ListCampaigns();
  // New guidelines bump guideline_version. nullopt = unchanged.
  absl::StatusOr<Campaign> UpdateCampaign(const std::string& id_or_name,
                                          const std::optional<std::string>& guidelines,
                                          std::optional<CampaignState> state);

  // --- items (admin) ---
  // All items are validated first; one bad item stores nothing (INVALID_ARGUMENT "items[i]...").
  // Items whose external_id is already in the campaign are not added again.
  absl::StatusOr<AddItemsResult> AddItems(const std::string& campaign_id, std::vector<Item> items);

  // --- annotators and credentials ---
  // Returns the annotator and their token (shown once; stored as a SHA-256 hash).
  absl::StatusOr<std::pair<Annotator, std::string>> CreateAnnotator(const std::string& name,
                                                                   AnnotatorRole role,
                                                                   bool synthetic);
  absl::StatusOr<Annotator> GetAnnotator(const std::string& id_or_name);
  absl::StatusOr<std::vector<Annotator>> ListAnnotators();
  absl::StatusOr<Annotator> SetAnnotatorPaused(const std::string& id_or_name, bool paused);
  // UNAUTHENTICATED for an unknown token.
  absl::StatusOr<Annotator> AuthenticateToken(const std::string& token);
  absl::StatusOr<Session> CreateSession(const std::string& annotator_id, absl::Duration lifetime);
  // UNAUTHENTICATED for an unknown or expired session.
  absl::StatusOr<SessionAnnotator> AuthenticateSession(const std::string& session_token);
  absl::Status DeleteSession(const std::string& session_token);

  // --- tasks (annotators) ---
  // `campaign` is an id or a name (NOT_FOUND otherwise).
  // nullopt when nothing is left for this annotator. FAILED_PRECONDITION when the campaign is
  // not active; PERMISSION_DENIED when the annotator is paused; RESOURCE_EXHAUSTED at the
  // open-lease cap.
  absl::StatusOr<std::optional<Task>> NextTask(const std::string& campaign,
                                               const Annotator& annotator);
  // NOT_FOUND for an unknown lease or one of another annotator.
  absl::StatusOr<LeaseInfo> GetLease(const std::string& lease_id, const std::string& annotator_id);
  // FAILED_PRECONDITION when the lease expired or was lost.
  absl::Status SaveDraft(const std::string& lease_id, const std::string& annotator_id,
                         const Answers& item_order_answers);
  // Stores the judgement (answers in item order) and completes the slot; returns its id.
  // FAILED_PRECONDITION when the lease expired or was lost; nothing is stored then.
  absl::StatusOr<std::string> Submit(const std::string& lease_id, const Annotator& annotator,
                                     const Answers& item_order_answers, double seconds_spent);
  // Records a judgement made elsewhere (an imported prior preference) on `item_id`: takes one of
  // the item's free slots for `annotator` and completes it at once, so it counts towards the
  // overlap like any judgement. FAILED_PRECONDITION when the item has no free slot or this
  // annotator already judged it.
  absl::StatusOr<std::string> RecordJudgement(const std::string& item_id,
                                              const Annotator& annotator,
                                              const Answers& item_order_answers);
  // Records the skip; the slot goes back to others and the item never returns to this annotator.
  absl::Status Skip(const std::string& lease_id, const Annotator& annotator);

  absl::StatusOr<AnnotatorProgress> Progress(const std::string& campaign_id,
                                             const std::string& annotator_id);

  // --- reading for quality and export ---
  absl::StatusOr<CampaignData> LoadCampaign(const std::string& campaign_id);
  // The gold items an annotator judged with their answers, across campaigns (for pausing).
  absl::StatusOr<std::vector<std::pair<Item, Judgement>>> GoldJudgements(
      const std::string& annotator_id);

  sql::Database& database() { return *db_; }

 private:
  FeedbackStore(std::unique_ptr<sql::Database> db, FeedbackStoreOptions options);
  int64_t Now() const;
  // The write step of NextTask: leases a slot (gold or regular); nullopt when none is left.
  absl::StatusOr<std::optional<std::string>> ClaimTask(const Campaign& campaign,
                                                       const Annotator& annotator);

  std::unique_ptr<sql::Database> db_;
  FeedbackStoreOptions options_;
};

// Maps answers given by shown position to item order (ranks/ratings/flags permuted; pairwise
// "a"/"b" mean positions 0/1). INVALID_ARGUMENT when the sizes do not match shown_order.
absl::StatusOr<Answers> ToItemOrder(const Answers& by_position, const std::vector<int>& shown_order);

// SHA-256 of `secret` as lowercase hex: what the store keeps of tokens and sessions.
std::string HashSecret(const std::string& secret);
// A fresh random secret: 32 bytes from the OS, URL-safe base64 (43 characters).
std::string NewSecret();
// A fresh id "<prefix>_<16 random hex digits>".
std::string NewId(const char* prefix);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FEEDBACK_STORE_H_
