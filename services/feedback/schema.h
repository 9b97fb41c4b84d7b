// The feedback store's schema and its versioned migrations.
//
// Migrations are numbered from 1 and only ever appended: a released migration is never edited.
// Migrate() applies, in order and each in its own transaction, every migration above the version
// recorded in schema_version, so a store written by an older rein-feedback upgrades in place and
// one written by a newer one is refused (FAILED_PRECONDITION) rather than misread.
#ifndef REIN_SERVICES_FEEDBACK_SCHEMA_H_
#define REIN_SERVICES_FEEDBACK_SCHEMA_H_

#include "absl/status/statusor.h"
#include "common/sql/database.h"

namespace rein::feedback {

// The schema version this build writes.
int CurrentSchemaVersion();

// Brings `db` to CurrentSchemaVersion(); returns the version found before (0 = empty store).
absl::StatusOr<int> Migrate(sql::Database& db);

// Brings `db` to `version` (<= CurrentSchemaVersion()), for tests that write a store as an
// older rein-feedback did and then upgrade it.
absl::StatusOr<int> MigrateTo(sql::Database& db, int version);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_SCHEMA_H_
