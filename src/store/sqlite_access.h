#pragma once
// Internal to zp_store: the tokens and audit tables of the SQLite store
// (schema version 3, docs/architecture.md §9.3). Not a public interface.

#include <cstddef>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace zp::store::detail {

// The prepared statements of the tokens and audit tables and their row
// forms. Owned by SqliteStore, which declares it after its Database (so the
// statements are finalized first) and serializes every call with its mutex;
// not thread-safe by itself. The write methods run inside the store's
// transaction.
class AccessTables {
 public:
  Status prepare(sql::Database& db);

  // Contract checks made before a batch's transaction starts
  // (kInvalidArgument): a token needs an id, a role and a SHA-256 of 64
  // lowercase hex characters.
  static Status check(const PutToken& put);

  Status put(const PutToken& put);
  Status remove(const DeleteToken& remove);
  Status touch(const TouchToken& touch);
  Status append(const AppendAudit& append);
  Status expire(const DeleteAuditBefore& expire);

  Result<std::vector<TokenRecord>> loadTokens();
  Result<std::vector<AuditEntry>> loadAudit(TimePoint since, std::size_t limit);

 private:
  sql::Statement put_token_;
  sql::Statement delete_token_;
  sql::Statement touch_token_;
  sql::Statement append_audit_;
  sql::Statement expire_audit_;
  sql::Statement load_tokens_;
  sql::Statement load_audit_;
};

}  // namespace zp::store::detail
