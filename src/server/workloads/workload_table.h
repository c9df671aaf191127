#pragma once
// The workload service's in-memory records (docs/architecture.md §8.1) and
// their indexes: creation order (lists), submission order of the unplaced
// ones (the Unschedulable queue), the placed ones per node, the ones whose
// copy awaits removal. Keeps the fleet's capacity accounting in step with the
// records: a record placed and not final counts what its class accounts
// (Scheduler::accounted) on its node. A node the fleet does not hold counts
// for (not known to it when counted, or removed since: forgetNode) is
// "uncounted": nothing is sent to the fleet for it until recountNode() counts
// every record placed there again, so a node removed and added again with the
// same id starts from the right total.
//
// Owns the records; borrows the fleet and the scheduler, which must outlive
// it. Runs on the server's single executor; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/node.h"
#include "server/nodes/fleet.h"
#include "server/workloads/scheduler.h"
#include "store/store.h"

namespace zp::server {

// A record whose copy is to be removed from its node before anything else
// happens to it (docs/architecture.md §8.5): placed, with status.reason
// Terminating (the record is deleted next) or Draining (it is placed again or
// ends Drained next). Its last known state is kept.
bool awaitsRemoval(const store::WorkloadRecord& record);

class WorkloadTable {
 public:
  struct Entry {
    store::WorkloadRecord record;
    std::uint64_t seq = 0;   // submission order (load order for loaded records)
    bool committed = false;  // false while its first commit is in flight
    // What is counted on the fleet for it (node, resources); derived from the record.
    std::optional<std::pair<std::string, api::Resources>> allocation;
  };
  // Creation order: (status.created_at, id).
  using OrderKey = std::pair<TimePoint, std::string>;

  WorkloadTable(Fleet& fleet, const Scheduler& scheduler) : fleet_(fleet), scheduler_(scheduler) {}
  WorkloadTable(const WorkloadTable&) = delete;
  WorkloadTable& operator=(const WorkloadTable&) = delete;

  // nullptr when absent. Valid until the entry is erased.
  const Entry* find(std::string_view id) const;
  bool contains(std::string_view id) const { return find(id) != nullptr; }

  // Adds a record whose id is absent and counts its allocation.
  const Entry& insert(store::WorkloadRecord record, bool committed);
  // Replaces the record of a present id; the allocation and indexes follow.
  const Entry& update(std::string_view id, store::WorkloadRecord record);
  void markCommitted(std::string_view id);
  // Removes `id` and releases its allocation; nullopt when absent.
  std::optional<store::WorkloadRecord> erase(std::string_view id);

  // Committed records placed on `node` and not final, in creation order.
  std::vector<std::string> activeOn(std::string_view node) const;
  // Nodes some record is placed on and not final (committed or not).
  std::vector<std::string> nodesInUse() const;
  // Committed records neither placed nor final, in submission order.
  std::vector<std::string> queued() const;
  std::size_t queueSize() const { return queue_.size(); }
  // Records that awaitRemoval(), by id.
  std::vector<std::string> awaitingRemoval() const;

  // The fleet dropped what it counted on `node` (the node was removed).
  void forgetNode(std::string_view node);
  // If `node` is uncounted and the fleet knows it (again), counts every record
  // placed on it there.
  void recountNode(std::string_view node);
  const std::set<std::string, std::less<>>& uncountedNodes() const { return uncounted_; }

  const std::set<OrderKey>& order() const { return order_; }
  std::size_t size() const { return entries_.size(); }

  // How many records are in each (stored state, runtime class), kept as
  // records change (the metrics read it at every scrape, so no walk over
  // the table). Keys whose count went back to 0 are dropped.
  using StateClass = std::pair<api::WorkloadState, std::string>;
  const std::map<StateClass, std::size_t>& countsByStateAndClass() const { return counts_; }

  static OrderKey orderKey(const store::WorkloadRecord& record);

 private:
  // Brings the allocation and the per-node and queue indexes in line with the record.
  void reindex(Entry& entry, const store::WorkloadRecord* before);
  void allocateOn(const std::string& node, const api::Resources& resources);
  void releaseOn(const std::string& node, const api::Resources& resources);
  // counts_ follows a record that left (`before`) and/or arrived (`after`).
  void tally(const store::WorkloadRecord* before, const store::WorkloadRecord* after);

  Fleet& fleet_;
  const Scheduler& scheduler_;
  // Hashed: a GET answers from here, and at 100,000 records a tree walk of
  // string compares was a tenth of the server thread's time.
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_map<std::string, Entry, IdHash, std::equal_to<>> entries_;
  std::set<OrderKey> order_;
  std::map<std::uint64_t, std::string> queue_;                      // seq -> id
  std::map<std::string, std::set<OrderKey>, std::less<>> by_node_;  // placed, not final
  std::set<std::string, std::less<>> removals_;                     // awaitsRemoval()
  std::set<std::string, std::less<>> uncounted_;                    // nodes, see above
  std::map<StateClass, std::size_t> counts_;                        // countsByStateAndClass()
  std::uint64_t next_seq_ = 0;
};

}  // namespace zp::server
