#include "services/feedback/schema.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::feedback {
namespace {

// Portable SQL (see common/sql/database.h): TEXT, BIGINT, DOUBLE PRECISION only; ids are made
// by the service; JSON documents (questions, responses, answers) are TEXT.
//
// Invariants the indexes enforce, whatever a bug upstream does:
//   - one submitted judgement per slot, so an item never gets more than `overlap` of them;
//   - one submitted judgement per (item, annotator), so the overlap is by distinct annotators;
//   - a lease id names at most one slot.
const std::vector<std::string>& Migrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: campaigns, items, annotators, sessions, slots (the leases), judgements, skips.
      R"sql(
CREATE TABLE annotators (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  synthetic BIGINT NOT NULL,
  paused BIGINT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_us BIGINT NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  annotator_id TEXT NOT NULL REFERENCES annotators(id),
  csrf_token TEXT NOT NULL,
  expires_us BIGINT NOT NULL
);
CREATE TABLE campaigns (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  guidelines TEXT NOT NULL,
  guideline_version BIGINT NOT NULL,
  questions TEXT NOT NULL,
  overlap BIGINT NOT NULL CHECK (overlap >= 1),
  gold_rate DOUBLE PRECISION NOT NULL,
  state TEXT NOT NULL,
  created_us BIGINT NOT NULL
);
CREATE TABLE items (
  id TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  seq BIGINT NOT NULL,
  external_id TEXT,
  prompt TEXT NOT NULL,
  context TEXT NOT NULL,
  responses TEXT NOT NULL,
  num_responses BIGINT NOT NULL,
  gold BIGINT NOT NULL,
  gold_answer TEXT NOT NULL,
  created_us BIGINT NOT NULL
);
CREATE UNIQUE INDEX items_external ON items (campaign_id, external_id);
CREATE INDEX items_campaign ON items (campaign_id, gold, seq);
CREATE TABLE slots (
  id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL REFERENCES items(id),
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  seq BIGINT NOT NULL,
  slot_no BIGINT NOT NULL,
  gold BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'leased', 'done', 'skipped')),
  annotator_id TEXT REFERENCES annotators(id),
  lease_id TEXT UNIQUE,
  expires_us BIGINT NOT NULL,
  leased_us BIGINT NOT NULL,
  shown TEXT NOT NULL,
  draft TEXT
);
CREATE INDEX slots_open ON slots (campaign_id, state, seq);
CREATE INDEX slots_expiring ON slots (campaign_id, state, expires_us);
CREATE UNIQUE INDEX slots_item_annotator ON slots (item_id, annotator_id);
CREATE INDEX slots_annotator ON slots (annotator_id, campaign_id, state);
CREATE TABLE judgements (
  id TEXT PRIMARY KEY,
  slot_id TEXT NOT NULL REFERENCES slots(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  annotator_id TEXT NOT NULL REFERENCES annotators(id),
  status TEXT NOT NULL CHECK (status IN ('submitted', 'skipped')),
  answers TEXT NOT NULL,
  shown TEXT NOT NULL,
  seconds DOUBLE PRECISION NOT NULL,
  guideline_version BIGINT NOT NULL,
  synthetic BIGINT NOT NULL,
  created_us BIGINT NOT NULL
);
CREATE UNIQUE INDEX judgements_per_slot ON judgements (slot_id) WHERE status = 'submitted';
CREATE UNIQUE INDEX judgements_per_annotator ON judgements (item_id, annotator_id)
  WHERE status = 'submitted';
CREATE INDEX judgements_campaign ON judgements (campaign_id, status);
CREATE TABLE skips (
  item_id TEXT NOT NULL REFERENCES items(id),
  annotator_id TEXT NOT NULL REFERENCES annotators(id),
  PRIMARY KEY (item_id, annotator_id)
);
)sql",
      // 2: campaigns only experts may judge, and claims that cost the same at the millionth
      // item as at the first:
      //   - assignment_counts: per annotator and campaign, the tasks handed out (for the gold
      //     rate, instead of counting their slots on every claim) and `frontier`, the highest
      //     item seq they took from the open pool. Open slots are taken in seq order, so every
      //     open slot above it is of an item they have not touched, and the search for their
      //     next task starts there instead of walking past the slots of every item they already
      //     judged. Existing rows start at -1 (search from the start).
      //   - (annotator_id, state, campaign_id, expires_us) in place of (annotator_id,
      //     campaign_id, state): it serves both the open-lease cap (across campaigns, checked on
      //     every claim) and the held-lease check of next, without a seventh index on slots;
      //   - the claim indexes in the exact order FindRegularSlot reads them (its filters, then
      //     its ORDER BY), so a claim is an index range read up to the first free slot whatever
      //     the planner believes. With (campaign_id, state, seq) alone, PostgreSQL on a freshly
      //     loaded campaign (no statistics until autovacuum's next analyse) planned a read and
      //     sort of every open slot (150,000: ~0.7 s of one core) per claim, and requests queued
      //     past the clients' timeouts. The old indexes are prefixes of the new ones, so they go:
      //     every state change of a slot maintains each of its indexes.
      R"sql(
ALTER TABLE campaigns ADD COLUMN min_role TEXT NOT NULL DEFAULT 'annotator';
CREATE TABLE assignment_counts (
  annotator_id TEXT NOT NULL REFERENCES annotators(id),
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  regular BIGINT NOT NULL,
  gold BIGINT NOT NULL,
  frontier BIGINT NOT NULL,
  PRIMARY KEY (annotator_id, campaign_id)
);
CREATE INDEX slots_annotator_state ON slots (annotator_id, state, campaign_id, expires_us);
DROP INDEX slots_annotator;
CREATE INDEX slots_claim_open ON slots (campaign_id, state, gold, seq, slot_no);
CREATE INDEX slots_claim_expired ON slots (campaign_id, state, gold, expires_us);
DROP INDEX slots_open;
DROP INDEX slots_expiring;
INSERT INTO assignment_counts (annotator_id, campaign_id, regular, gold, frontier)
  SELECT annotator_id, campaign_id, SUM(1 - gold), SUM(gold), -1 FROM slots
  WHERE annotator_id IS NOT NULL AND state IN ('leased', 'done')
  GROUP BY annotator_id, campaign_id;
)sql",
  };
  return *migrations;
}

absl::StatusOr<int> StoredVersion(sql::Database& db) {
  RETURN_IF_ERROR(db.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);\n"));
  int version = 0;
  RETURN_IF_ERROR(db.Read([&](sql::Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<sql::Row> rows,
                     c.Query("SELECT MAX(version) FROM schema_version", {}));
    if (!rows.empty() && !rows[0].IsNull(0)) version = static_cast<int>(rows[0].Int(0));
    return absl::OkStatus();
  }));
  return version;
}

}  // namespace

int CurrentSchemaVersion() { return static_cast<int>(Migrations().size()); }

absl::StatusOr<int> Migrate(sql::Database& db) { return MigrateTo(db, CurrentSchemaVersion()); }

absl::StatusOr<int> MigrateTo(sql::Database& db, int version) {
  if (version < 0 || version > CurrentSchemaVersion()) {
    return absl::InvalidArgumentError(absl::StrCat("no schema version ", version));
  }
  ASSIGN_OR_RETURN(const int found, StoredVersion(db));
  if (found > CurrentSchemaVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat("feedback store has schema version ", found, " but this rein-feedback only "
                     "knows up to ", CurrentSchemaVersion(), ": upgrade rein-feedback"));
  }
  for (int v = found + 1; v <= version; ++v) {
    // The DDL and the version bump commit together where the backend has transactional DDL
    // (both SQLite and PostgreSQL do), so a crash mid-migration leaves the old version whole.
    RETURN_IF_ERROR(db.ExecScript(absl::StrCat("BEGIN;\n", Migrations()[v - 1],
                                               "INSERT INTO schema_version (version) VALUES (", v,
                                               ");\nCOMMIT;\n")));
  }
  return found;
}

}  // namespace rein::feedback
