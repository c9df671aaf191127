#pragma once
// Internal to zp_store: the SQLite store's schema and its forward migrations
// (PRAGMA user_version). Not a public interface.

#include "common/status.h"
#include "store/sqlite.h"

namespace zp::store::detail {

// The schema version this binary writes.
int latestSchemaVersion();

// Brings the schema of `db` to latestSchemaVersion(), one step per
// transaction; a database newer than this binary is kFailedPrecondition. The
// version is re-read under the write lock, so concurrent openers do not race.
Status migrate(sql::Database& db);

}  // namespace zp::store::detail
