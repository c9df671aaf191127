#pragma once
// The Store seam: the durable state of the control plane (docs/architecture.md
// §8.1, §8.4). The server is the only writer and keeps everything it needs in
// memory; the store is read once at start (load*) and then only written, in
// batches, each applied as one transaction. Implementations: SqliteStore
// (default), testing::FakeStore (tests, with failure injection).
// All methods are thread-safe and blocking; the server calls apply() from its
// CommitQueue thread only (commit_queue.h), never from its executor.

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
using Write = std::variant<PutWorkload, DeleteWorkload, PutNode, DeleteNode>;

class Store {
 public:
  virtual ~Store() = default;

  // Every workload record, ordered by status.created_at then id.
  virtual Result<std::vector<WorkloadRecord>> loadWorkloads() = 0;
  // Every node record, ordered by id.
  virtual Result<std::vector<NodeRecord>> loadNodes() = 0;
  // Applies `batch` in order as one transaction: all of it is durable when
  // this returns OK, none of it otherwise (kUnavailable for I/O errors and a
  // full disk, with the cause in the message).
  virtual Status apply(const std::vector<Write>& batch) = 0;
};

}  // namespace zp::store
