#include "server/workloads/workload_table.h"

#include <algorithm>

namespace zp::server {
namespace {

bool active(const store::WorkloadRecord& record) {
  return !record.status.node.empty() && !api::isTerminal(record.status.state);
}

}  // namespace

bool awaitsRemoval(const store::WorkloadRecord& record) {
  return !record.status.node.empty() && (record.status.reason == api::reason::kTerminating ||
                                         record.status.reason == api::reason::kDraining);
}

WorkloadTable::OrderKey WorkloadTable::orderKey(const store::WorkloadRecord& record) {
  return {record.status.created_at.value_or(TimePoint{}), record.spec.id};
}

const WorkloadTable::Entry* WorkloadTable::find(std::string_view id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

const WorkloadTable::Entry& WorkloadTable::insert(store::WorkloadRecord record, bool committed) {
  const std::string id = record.spec.id;
  Entry& entry = entries_[id];
  entry.record = std::move(record);
  entry.seq = next_seq_++;
  entry.committed = committed;
  reindex(entry, nullptr);
  tally(nullptr, &entry.record);
  return entry;
}

const WorkloadTable::Entry& WorkloadTable::update(std::string_view id,
                                                  store::WorkloadRecord record) {
  Entry& entry = entries_.find(id)->second;
  const store::WorkloadRecord before = std::exchange(entry.record, std::move(record));
  reindex(entry, &before);
  tally(&before, &entry.record);
  return entry;
}

void WorkloadTable::markCommitted(std::string_view id) {
  Entry& entry = entries_.find(id)->second;
  entry.committed = true;
  reindex(entry, &entry.record);
}

std::optional<store::WorkloadRecord> WorkloadTable::erase(std::string_view id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  Entry& entry = it->second;
  const store::WorkloadRecord before = entry.record;
  tally(&before, nullptr);
  // An absent record: nothing placed, nothing queued, nothing counted.
  entry.record.status.node.clear();
  entry.record.status.state = api::WorkloadState::kSucceeded;
  entry.committed = false;
  reindex(entry, &before);
  order_.erase(orderKey(before));
  store::WorkloadRecord record = before;
  entries_.erase(it);
  return record;
}

void WorkloadTable::reindex(Entry& entry, const store::WorkloadRecord* before) {
  const store::WorkloadRecord& now = entry.record;
  const OrderKey key = orderKey(now);
  if (before != nullptr && orderKey(*before) != key) order_.erase(orderKey(*before));
  order_.insert(key);

  if (before != nullptr && active(*before)) {
    auto node = by_node_.find(before->status.node);
    if (node != by_node_.end()) {
      node->second.erase(orderKey(*before));
      if (node->second.empty()) by_node_.erase(node);
    }
  }
  if (active(now)) by_node_[now.status.node].insert(key);

  if (awaitsRemoval(now)) {
    removals_.insert(now.spec.id);
  } else {
    removals_.erase(now.spec.id);
  }

  queue_.erase(entry.seq);
  if (entry.committed && now.status.node.empty() && !api::isTerminal(now.status.state)) {
    queue_.emplace(entry.seq, now.spec.id);
  }

  std::optional<std::pair<std::string, api::Resources>> wanted;
  if (active(now)) {
    wanted.emplace(now.status.node, scheduler_.accounted(now.spec, now.spec.runtime_class));
  }
  if (wanted != entry.allocation) {
    if (entry.allocation) releaseOn(entry.allocation->first, entry.allocation->second);
    if (wanted) allocateOn(wanted->first, wanted->second);
    entry.allocation = std::move(wanted);
  }
}

void WorkloadTable::tally(const store::WorkloadRecord* before, const store::WorkloadRecord* after) {
  if (before != nullptr && after != nullptr && before->status.state == after->status.state &&
      before->spec.runtime_class == after->spec.runtime_class) {
    return;
  }
  if (before != nullptr) {
    auto it = counts_.find(StateClass{before->status.state, before->spec.runtime_class});
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }
  if (after != nullptr) ++counts_[StateClass{after->status.state, after->spec.runtime_class}];
}

void WorkloadTable::allocateOn(const std::string& node, const api::Resources& resources) {
  if (uncounted_.contains(node)) return;
  if (!fleet_.state(node)) {
    uncounted_.insert(node);
    return;
  }
  fleet_.allocate(node, resources);
}

void WorkloadTable::releaseOn(const std::string& node, const api::Resources& resources) {
  if (uncounted_.contains(node)) return;
  if (!fleet_.state(node)) {
    uncounted_.insert(node);
    return;
  }
  fleet_.release(node, resources);
}

void WorkloadTable::forgetNode(std::string_view node) { uncounted_.emplace(node); }

void WorkloadTable::recountNode(std::string_view node) {
  auto it = uncounted_.find(node);
  if (it == uncounted_.end() || !fleet_.state(node)) return;
  uncounted_.erase(it);
  auto placed = by_node_.find(node);
  if (placed == by_node_.end()) return;
  for (const auto& [created, id] : placed->second) {
    const Entry* entry = find(id);
    if (entry != nullptr && entry->allocation && entry->allocation->first == node) {
      fleet_.allocate(node, entry->allocation->second);
    }
  }
}

std::vector<std::string> WorkloadTable::awaitingRemoval() const {
  return {removals_.begin(), removals_.end()};
}

std::vector<std::string> WorkloadTable::activeOn(std::string_view node) const {
  std::vector<std::string> out;
  auto it = by_node_.find(node);
  if (it == by_node_.end()) return out;
  for (const auto& [created, id] : it->second) {
    if (find(id)->committed) out.push_back(id);
  }
  return out;
}

std::vector<std::string> WorkloadTable::nodesInUse() const {
  std::vector<std::string> out;
  for (const auto& [node, ids] : by_node_) out.push_back(node);
  return out;
}

std::vector<std::string> WorkloadTable::queued() const {
  std::vector<std::string> out;
  out.reserve(queue_.size());
  for (const auto& [seq, id] : queue_) out.push_back(id);
  return out;
}

}  // namespace zp::server
