#include "store/sqlite_access.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/sqlite_rows.h"

namespace zp::store::detail {
namespace {

constexpr std::string_view kPutToken =
    "INSERT INTO tokens (id, name, role, secret_sha256, created_at, expires_at, last_used_at, "
    "used) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET "
    "name = excluded.name, role = excluded.role, secret_sha256 = excluded.secret_sha256, "
    "created_at = excluded.created_at, expires_at = excluded.expires_at, "
    "last_used_at = excluded.last_used_at, used = excluded.used";

// The columns loadTokens() reads, in this order.
constexpr std::string_view kSelectTokens =
    "SELECT id, name, role, secret_sha256, created_at, expires_at, last_used_at, used "
    "FROM tokens ORDER BY created_at, id";
enum TokenColumn {
  kTokenId = 0,
  kTokenName,
  kTokenRole,
  kTokenHash,
  kTokenCreatedAt,
  kTokenExpiresAt,
  kTokenLastUsedAt,
  kTokenUsed
};

// The columns loadAudit() reads, in this order.
constexpr std::string_view kSelectAudit =
    "SELECT seq, time, principal, action, target, result, source FROM audit "
    "WHERE time >= ?1 ORDER BY seq LIMIT ?2";
enum AuditColumn { kSeq = 0, kTime, kPrincipal, kAction, kTarget, kResult, kSource };

bool isLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status bindTime(sql::Statement& statement, int index, const std::optional<TimePoint>& time) {
  return time ? statement.bindInt(index, toNanos(*time)) : statement.bindNull(index);
}

std::optional<TimePoint> optionalTime(const sql::Statement& row, int column) {
  if (row.isNull(column)) return std::nullopt;
  return fromNanos(row.columnInt(column));
}

}  // namespace

Status AccessTables::prepare(sql::Database& db) {
  auto prepareOne = [&](sql::Statement& out, std::string_view text) -> Status {
    auto statement = db.prepare(text);
    if (!statement) return fail(std::move(statement.error()));
    out = std::move(*statement);
    return ok();
  };
  return firstError({
      prepareOne(put_token_, kPutToken),
      prepareOne(delete_token_, "DELETE FROM tokens WHERE id = ?1"),
      prepareOne(touch_token_,
                 "UPDATE tokens SET last_used_at = ?2, used = max(used, ?3) WHERE id = ?1"),
      prepareOne(append_audit_,
                 "INSERT INTO audit (time, principal, action, target, result, source) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
      prepareOne(expire_audit_, "DELETE FROM audit WHERE time < ?1"),
      prepareOne(load_tokens_, kSelectTokens),
      prepareOne(load_audit_, kSelectAudit),
  });
}

Status AccessTables::check(const PutToken& put) {
  const TokenRecord& token = put.token;
  if (token.id.empty()) return fail(Code::kInvalidArgument, "token id must not be empty", "id");
  if (token.role.empty()) {
    return fail(Code::kInvalidArgument, "token " + quote(token.id) + " has no role", "role");
  }
  if (token.secret_sha256.size() != 64 || !isLowerHex(token.secret_sha256)) {
    return fail(Code::kInvalidArgument,
                "token " + quote(token.id) + ": secret_sha256 must be 64 lowercase hex characters",
                "secret_sha256");
  }
  return ok();
}

Status AccessTables::put(const PutToken& put) {
  const TokenRecord& token = put.token;
  sql::ResetOnExit reset(put_token_);
  if (auto s = firstError({
          put_token_.bindText(1, token.id),
          token.name.empty() ? put_token_.bindNull(2) : put_token_.bindText(2, token.name),
          put_token_.bindText(3, token.role),
          put_token_.bindText(4, token.secret_sha256),
          put_token_.bindInt(5, toNanos(token.created_at)),
          bindTime(put_token_, 6, token.expires_at),
          bindTime(put_token_, 7, token.last_used_at),
          put_token_.bindInt(8, token.used ? 1 : 0),
      });
      !s) {
    return s;
  }
  return put_token_.run();
}

Status AccessTables::remove(const DeleteToken& remove) {
  sql::ResetOnExit reset(delete_token_);
  if (auto s = delete_token_.bindText(1, remove.id); !s) return s;
  return delete_token_.run();
}

Status AccessTables::touch(const TouchToken& touch) {
  sql::ResetOnExit reset(touch_token_);
  if (auto s = firstError({
          touch_token_.bindText(1, touch.id),
          touch_token_.bindInt(2, toNanos(touch.last_used_at)),
          touch_token_.bindInt(3, touch.used ? 1 : 0),
      });
      !s) {
    return s;
  }
  return touch_token_.run();
}

Status AccessTables::append(const AppendAudit& append) {
  const AuditEntry& entry = append.entry;
  sql::ResetOnExit reset(append_audit_);
  if (auto s = firstError({
          append_audit_.bindInt(1, toNanos(entry.time)),
          append_audit_.bindText(2, entry.principal),
          append_audit_.bindText(3, entry.action),
          append_audit_.bindText(4, entry.target),
          append_audit_.bindInt(5, entry.result),
          append_audit_.bindText(6, entry.source),
      });
      !s) {
    return s;
  }
  return append_audit_.run();
}

Status AccessTables::expire(const DeleteAuditBefore& expire) {
  sql::ResetOnExit reset(expire_audit_);
  if (auto s = expire_audit_.bindInt(1, toNanos(expire.before)); !s) return s;
  return expire_audit_.run();
}

Result<std::vector<TokenRecord>> AccessTables::loadTokens() {
  sql::ResetOnExit reset(load_tokens_);
  std::vector<TokenRecord> tokens;
  for (;;) {
    auto row = load_tokens_.step();
    if (!row) return fail(withContext(std::move(row.error()), "load tokens"));
    if (!*row) return tokens;
    const sql::Statement& r = load_tokens_;
    TokenRecord token;
    token.id = r.columnText(kTokenId);
    const bool times_ok = r.isInteger(kTokenCreatedAt) &&
                          (r.isNull(kTokenExpiresAt) || r.isInteger(kTokenExpiresAt)) &&
                          (r.isNull(kTokenLastUsedAt) || r.isInteger(kTokenLastUsedAt)) &&
                          r.isInteger(kTokenUsed);
    if (!times_ok) {
      return fail(Code::kInternal, "corrupt record for token " + quote(token.id) +
                                       ": times and used must be integers");
    }
    token.name = r.columnText(kTokenName);  // "" for NULL
    token.role = r.columnText(kTokenRole);
    token.secret_sha256 = r.columnText(kTokenHash);
    token.created_at = fromNanos(r.columnInt(kTokenCreatedAt));
    token.expires_at = optionalTime(r, kTokenExpiresAt);
    token.last_used_at = optionalTime(r, kTokenLastUsedAt);
    token.used = r.columnInt(kTokenUsed) != 0;
    tokens.push_back(std::move(token));
  }
}

Result<std::vector<AuditEntry>> AccessTables::loadAudit(TimePoint since, std::size_t limit) {
  sql::ResetOnExit reset(load_audit_);
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  if (auto s = firstError({
          load_audit_.bindInt(1, toNanos(since)),
          load_audit_.bindInt(2, static_cast<std::int64_t>(std::min(limit, max))),
      });
      !s) {
    return fail(withContext(std::move(s.error()), "load audit"));
  }
  std::vector<AuditEntry> entries;
  for (;;) {
    auto row = load_audit_.step();
    if (!row) return fail(withContext(std::move(row.error()), "load audit"));
    if (!*row) return entries;
    const sql::Statement& r = load_audit_;
    if (!r.isInteger(kTime) || !r.isInteger(kResult)) {
      return fail(Code::kInternal, "corrupt audit entry " + std::to_string(r.columnInt(kSeq)) +
                                       ": time and result must be integers");
    }
    AuditEntry entry;
    entry.seq = r.columnInt(kSeq);
    entry.time = fromNanos(r.columnInt(kTime));
    entry.principal = r.columnText(kPrincipal);
    entry.action = r.columnText(kAction);
    entry.target = r.columnText(kTarget);
    entry.result = static_cast<int>(r.columnInt(kResult));
    entry.source = r.columnText(kSource);
    entries.push_back(std::move(entry));
  }
}

}  // namespace zp::store::detail
