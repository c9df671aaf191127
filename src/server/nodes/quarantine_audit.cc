#include "server/nodes/quarantine_audit.h"

namespace zp::server {

std::string QuarantineAudit::suppressedNote(int suppressed) {
  if (suppressed <= 0) return {};
  return "; " + std::to_string(suppressed) +
         (suppressed == 1 ? " change suppressed" : " changes suppressed");
}

std::optional<QuarantineAudit::Entry> QuarantineAudit::change(Entry entry, MonotonicTime now) {
  auto it = classes_.find(entry.runtime_class);
  if (it == classes_.end()) {
    // No entry of this class within the interval (states are pruned by due()).
    classes_.emplace(entry.runtime_class, ClassState{now, std::nullopt, 0});
    entry.suppressed = 0;
    return entry;
  }
  ClassState& state = it->second;
  if (now - state.last_entry >= interval_) {
    // The interval is over: this change is written now; a change still held
    // (due() not called since) is superseded by it.
    entry.suppressed = state.superseded + (state.held ? 1 : 0);
    if (state.held) --holding_;
    state = ClassState{now, std::nullopt, 0};
    return entry;
  }
  if (state.held) {
    ++state.superseded;
  } else {
    ++holding_;
  }
  state.held = std::move(entry);
  return std::nullopt;
}

QuarantineAudit::Entry QuarantineAudit::release(ClassState& state, MonotonicTime now) {
  Entry entry = std::move(*state.held);
  entry.suppressed = state.superseded;
  state = ClassState{now, std::nullopt, 0};
  --holding_;
  return entry;
}

std::vector<QuarantineAudit::Entry> QuarantineAudit::due(MonotonicTime now) {
  std::vector<Entry> out;
  for (auto it = classes_.begin(); it != classes_.end();) {
    ClassState& state = it->second;
    if (now - state.last_entry < interval_) {
      ++it;
    } else if (state.held) {
      out.push_back(release(state, now));
      ++it;
    } else {
      it = classes_.erase(it);  // nothing held, interval over: as if never seen
    }
  }
  return out;
}

std::vector<QuarantineAudit::Entry> QuarantineAudit::takeAll() {
  std::vector<Entry> out;
  for (auto& [cls, state] : classes_) {
    if (state.held) out.push_back(release(state, state.last_entry));
  }
  return out;
}

}  // namespace zp::server
