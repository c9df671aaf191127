#include "server/nodes/scheduling_index.h"

#include <algorithm>
#include <iterator>

namespace zp::server {

void SchedulingIndex::assign(std::vector<NodeView> views) {
  views_ = std::move(views);
  by_class_.clear();
  offer_counts_.clear();
  for (std::uint32_t i = 0; i < views_.size(); ++i) {
    for (const auto& cls : views_[i].runtime_classes) ++offer_counts_[cls];
    insertKeys(i);
  }
  rebuildOffered();
}

const NodeView* SchedulingIndex::find(std::string_view id) const {
  auto it = std::lower_bound(views_.begin(), views_.end(), id,
                             [](const NodeView& v, std::string_view key) { return v.id < key; });
  return it != views_.end() && it->id == id ? &*it : nullptr;
}

SchedulingIndex::Key SchedulingIndex::keyOf(std::uint32_t position) const {
  const api::Resources free = views_[position].allocatable();
  return Key{free.memory_mb, free.cpu_millicores, position};
}

void SchedulingIndex::insertKeys(std::uint32_t position) {
  const NodeView& view = views_[position];
  if (!eligible(view)) return;
  const Key key = keyOf(position);
  for (const auto& cls : view.runtime_classes) {
    auto it = by_class_.find(cls);
    if (it == by_class_.end()) it = by_class_.emplace(cls, std::set<Key>{}).first;
    it->second.insert(key);
  }
}

void SchedulingIndex::eraseKeys(std::uint32_t position) {
  const NodeView& view = views_[position];
  if (!eligible(view)) return;
  const Key key = keyOf(position);
  for (const auto& cls : view.runtime_classes) {
    auto it = by_class_.find(cls);
    if (it != by_class_.end()) it->second.erase(key);
  }
}

void SchedulingIndex::rebuildOffered() {
  offered_.clear();
  for (const auto& [cls, count] : offer_counts_) {
    if (count > 0) offered_.push_back(cls);
  }
}

bool SchedulingIndex::update(NodeView view) {
  const NodeView* found = find(view.id);
  if (found == nullptr) return false;
  const std::uint32_t position = positionOf(found);
  NodeView& held = views_[position];
  eraseKeys(position);
  const bool classes_changed = held.runtime_classes != view.runtime_classes;
  if (classes_changed) {
    for (const auto& cls : held.runtime_classes) --offer_counts_[cls];
    for (const auto& cls : view.runtime_classes) ++offer_counts_[cls];
  }
  held = std::move(view);
  insertKeys(position);
  if (classes_changed) rebuildOffered();
  return true;
}

bool SchedulingIndex::setAllocated(std::string_view id, const api::Resources& allocated,
                                   int workloads) {
  const NodeView* found = find(id);
  if (found == nullptr) return false;
  const std::uint32_t position = positionOf(found);
  NodeView& held = views_[position];
  if (held.allocated != allocated) {
    eraseKeys(position);
    held.allocated = allocated;
    insertKeys(position);
  }
  held.workloads = workloads;
  return true;
}

const NodeView* SchedulingIndex::best(std::string_view runtime_class, const api::Resources& need,
                                      const api::IsolationRequirement& requirement,
                                      SchedulerPolicy policy) const {
  auto found = by_class_.find(runtime_class);
  if (found == by_class_.end()) return nullptr;
  const std::set<Key>& order = found->second;
  const auto admits = [&](const Key& key) {
    return key.cpu >= need.cpu_millicores &&
           views_[key.position].admits(runtime_class, requirement);
  };
  if (policy == SchedulerPolicy::kBinpack) {
    // The first node with enough of both, in ascending order of what is
    // free: the least left over, ties to the smaller id.
    for (auto it = order.lower_bound(Key{need.memory_mb, need.cpu_millicores, 0});
         it != order.end(); ++it) {
      if (admits(*it)) return &views_[it->position];
    }
    return nullptr;
  }
  // Spread: the groups of equal free capacity from the largest down; within
  // a group the smaller id first.
  auto end = order.end();
  while (end != order.begin()) {
    const Key& last = *std::prev(end);
    if (last.memory < need.memory_mb) break;  // every node before has less
    auto first = order.lower_bound(Key{last.memory, last.cpu, 0});
    if (last.cpu >= need.cpu_millicores) {
      for (auto it = first; it != end; ++it) {
        if (admits(*it)) return &views_[it->position];
      }
    }
    end = first;
  }
  return nullptr;
}

}  // namespace zp::server
