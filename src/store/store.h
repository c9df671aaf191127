#pragma once
// The Store seam: the durable state of the control plane (docs/architecture.md
// §8.1, §8.4). The server is the only writer and keeps everything it needs in
// memory; the store is read once at start (load*) and then only written, in
// batches, each applied as one transaction. Implementations: SqliteStore
// (default), testing::FakeStore (tests, with failure injection).
// The API's tokens and audit log (§9.3) live here too; the audit log is the
// one table that is read after start (loadAudit, for GET /audit).
// All methods are thread-safe and blocking; the server calls them from its
// CommitQueue thread only (commit_queue.h: apply() for writes, read() for the
// reads after start), never from its executor.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/workload.h"
#include "common/status.h"
#include "common/time.h"

namespace zp::store {

// One accepted workload: what was asked (spec) and what became of it
// (status). The status is also the placement: status.id == spec.id,
// status.node is the node it is placed on ("" while unplaced), status.uid the
// current placement's uid, status.created_at when the server accepted it.
struct WorkloadRecord {
  api::WorkloadSpec spec;
  api::WorkloadStatus status;
  TimePoint updated_at{};  // last write of this record
  // The grace period of the DELETE that marked it Terminating (the latest
  // such DELETE's), kept with the mark so a deletion finished later (tick,
  // the node's resync, after a restart) asks the node for the same one
  // (docs/architecture.md §8.5). Unset when not Terminating; 0 or more.
  std::optional<std::chrono::seconds> termination_grace;
  bool operator==(const WorkloadRecord&) const = default;
};

// One node the server manages (added by the API or the config file).
struct NodeRecord {
  std::string id;
  std::string address;  // HOST:PORT of its agent
  bool cordoned = false;
  TimePoint added_at{};
  bool operator==(const NodeRecord&) const = default;
};

// An API token (docs/architecture.md §9.3). Never the secret: only its
// SHA-256. Join tokens (role "join") may have no name and are spent once.
struct TokenRecord {
  std::string id;             // 12 lowercase hex characters: public, the lookup key
  std::string name;           // DNS-1123 label, unique; "" for an unnamed join token
  std::string role;           // "viewer", "operator", "admin" or "join"
  std::string secret_sha256;  // SHA-256 of the secret's bytes, 64 lowercase hex characters
  TimePoint created_at{};
  std::optional<TimePoint> expires_at;    // none: never expires
  std::optional<TimePoint> last_used_at;  // last successful authentication (coarse)
  bool used = false;                      // a join token that was presented once
  bool operator==(const TokenRecord&) const = default;
};

// One line of the audit log (§9.3): who did what to which object, with what result.
struct AuditEntry {
  std::int64_t seq = 0;  // assigned by the store, increasing; ignored by AppendAudit
  TimePoint time{};
  std::string principal;  // token name, "join:<id>" or "anonymous"
  std::string action;     // "POST /workloads", "DELETE /nodes/{id}", ...
  std::string target;     // the id acted on ("" when none)
  int result = 0;         // HTTP status
  std::string source;     // the client's address
  bool operator==(const AuditEntry&) const = default;
};

// The writes a batch may hold. Put* inserts or replaces by id; Delete* of an
// absent id is not an error.
struct PutWorkload {
  WorkloadRecord record;
};
struct DeleteWorkload {
  std::string id;
};
struct PutNode {
  NodeRecord node;
};
struct DeleteNode {
  std::string id;
};
// A PutToken whose name belongs to another token's id fails the batch
// (kAlreadyExists): the server checks names before it writes.
struct PutToken {
  TokenRecord token;
};
struct DeleteToken {
  std::string id;
};
// Updates last_used_at and (once true, it stays true) used of an existing
// token; nothing when the id is absent (a revoked token is not brought back).
struct TouchToken {
  std::string id;
  TimePoint last_used_at{};
  bool used = false;
};
struct AppendAudit {
  AuditEntry entry;
};
// Deletes every audit entry whose time is before `before` (the retention).
struct DeleteAuditBefore {
  TimePoint before{};
};
using Write = std::variant<PutWorkload, DeleteWorkload, PutNode, DeleteNode, PutToken, DeleteToken,
                           TouchToken, AppendAudit, DeleteAuditBefore>;

class Store {
 public:
  virtual ~Store() = default;

  // Every workload record, ordered by status.created_at then id.
  virtual Result<std::vector<WorkloadRecord>> loadWorkloads() = 0;
  // Every node record, ordered by id.
  virtual Result<std::vector<NodeRecord>> loadNodes() = 0;
  // Every token, ordered by created_at then id.
  virtual Result<std::vector<TokenRecord>> loadTokens() = 0;
  // At most `limit` audit entries with time >= since, oldest (lowest seq) first.
  virtual Result<std::vector<AuditEntry>> loadAudit(TimePoint since, std::size_t limit) = 0;
  // Applies `batch` in order as one transaction: all of it is durable when
  // this returns OK, none of it otherwise (kStorageFull for a full disk,
  // kUnavailable for I/O errors, with the cause in the message).
  virtual Status apply(const std::vector<Write>& batch) = 0;
};

}  // namespace zp::store
