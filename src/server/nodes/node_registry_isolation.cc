// NodeRegistry: the nodes' verified isolation (docs/architecture.md §10.3):
// the list from Hello, heartbeats and probes, its checks, and the audit of
// quarantine changes. Probes on demand live in node_registry_probe.cc;
// membership, lifecycle and the links in node_registry.cc.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "api/validate.h"
#include "server/nodes/node_registry.h"

namespace zp::server {

namespace {

// An agent's string for a log line: quoted, at most 64 bytes, every byte
// outside printable ASCII (and the quote itself) replaced by '?'.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  for (char c : text.substr(0, kMax)) {
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

bool byClass(const api::ClassIsolation& a, const api::ClassIsolation& b) {
  return a.runtime_class < b.runtime_class;
}

// What the scheduler uses of an entry; quarantined() follows from it.
auto schedulingInputs(const api::ClassIsolation& c) {
  return std::tie(c.runtime_class, c.claim, c.level, c.score);
}

bool sameSchedulingInputs(const std::vector<api::ClassIsolation>& a,
                          const std::vector<api::ClassIsolation>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) {
                      return schedulingInputs(x) == schedulingInputs(y);
                    });
}

// What a workload's status shows of an entry (a class without one shows as
// unverified, score 0, not quarantined).
auto shownOf(const api::ClassIsolation* c) {
  return c == nullptr ? std::make_tuple(api::IsolationLevel::kUnverified, 0, false)
                      : std::make_tuple(c->level, c->score, c->quarantined());
}

// The classes (sorted) whose shown state differs between two sorted lists.
std::vector<std::string> shownChanges(const std::vector<api::ClassIsolation>& before,
                                      const std::vector<api::ClassIsolation>& after) {
  std::vector<std::string> changed;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    const api::ClassIsolation* was = nullptr;
    const api::ClassIsolation* now = nullptr;
    if (a == after.end() || (b != before.end() && b->runtime_class < a->runtime_class)) {
      was = &*b++;
    } else if (b == before.end() || a->runtime_class < b->runtime_class) {
      now = &*a++;
    } else {
      was = &*b++;
      now = &*a++;
    }
    if (shownOf(was) != shownOf(now)) changed.push_back((now != nullptr ? now : was)->runtime_class);
  }
  return changed;
}

}  // namespace

std::vector<api::ClassIsolation> NodeRegistry::checkedIsolation(
    Node& node, std::vector<api::ClassIsolation> items) {
  const std::vector<std::string>& offered =
      node.info ? node.info->runtime_classes : node.configured_classes;  // sorted
  std::stable_sort(items.begin(), items.end(), byClass);
  std::vector<api::ClassIsolation> kept;
  kept.reserve(items.size());
  int not_label = 0, not_offered = 0, repeated = 0;
  std::string example_label, example_offered, example_repeated;
  for (std::size_t i = 0; i < items.size();) {
    // The run of items naming one class.
    std::size_t end = i + 1;
    while (end < items.size() && items[end].runtime_class == items[i].runtime_class) ++end;
    const std::string& cls = items[i].runtime_class;
    const int n = static_cast<int>(end - i);
    if (!api::isDns1123Label(cls)) {
      not_label += n;
      if (example_label.empty()) example_label = printable(cls);
    } else if (!std::binary_search(offered.begin(), offered.end(), cls)) {
      not_offered += n;
      if (example_offered.empty()) example_offered = printable(cls);
    } else if (n > 1) {
      // Which of them would be true? None counts: the class is unverified.
      repeated += n;
      if (example_repeated.empty()) example_repeated = printable(cls);
    } else {
      kept.push_back(std::move(items[i]));
    }
    i = end;
  }
  const int dropped = not_label + not_offered + repeated;
  if (dropped == 0) {
    node.dropped_warning.clear();
    return kept;
  }
  std::string why;
  const auto add = [&](int count, std::string_view what, const std::string& example) {
    if (count == 0) return;
    why += (why.empty() ? "" : ", ") + std::to_string(count) + " " + std::string(what) + " (e.g. " +
           example + ")";
  };
  add(not_label, "not a runtime class name", example_label);
  add(not_offered, "of a class the node does not offer", example_offered);
  add(repeated, "of a class named more than once", example_repeated);
  // Once per distinct problem: an agent that sends the same list again
  // does not fill the log.
  if (why != node.dropped_warning) {
    spdlog::warn("node \"{}\": ignored {} of {} isolation items from the agent: {}",
                 node.record.id, dropped, items.size(), why);
    node.dropped_warning = std::move(why);
  }
  return kept;
}

bool NodeRegistry::updateIsolation(Node& node,
                                   std::optional<std::vector<api::ClassIsolation>> classes,
                                   std::int64_t revision, bool hello) {
  std::vector<api::ClassIsolation> checked;
  if (classes) {
    // On one connection revisions only grow: an older list (a reply
    // overtaken by a newer one) is stale. A Hello starts a connection
    // (maybe to a restarted agent): its list always counts.
    if (!hello && node.isolation_revision && revision < *node.isolation_revision) return false;
    node.isolation_revision = revision;
    checked = checkedIsolation(node, std::move(*classes));
  } else {
    // A Hello without a list: this agent process verifies nothing, whatever
    // the previous one did. Every class is unverified.
    if (!hello) return false;
    node.isolation_revision.reset();
  }
  if (checked == node.isolation) return false;
  std::vector<api::ClassIsolation> summaries;
  summaries.reserve(checked.size());
  for (const auto& c : checked) summaries.push_back(withoutFindings(c));
  // No list is no verified entry: it neither starts nor ends a quarantine.
  if (classes) auditQuarantine(node, node.summaries, summaries);
  const bool scheduling = !sameSchedulingInputs(node.summaries, summaries);
  std::vector<std::string> shown = shownChanges(node.summaries, summaries);
  node.isolation = std::move(checked);
  node.summaries = std::move(summaries);
  // The index first: the listener may schedule.
  touched(node);
  if (!shown.empty() && listener_ != nullptr && !stopped_) {
    listener_->onIsolationChanged(node.record.id, shown);
  }
  return scheduling;
}

void NodeRegistry::auditQuarantine(Node& node, const std::vector<api::ClassIsolation>& before,
                                   const std::vector<api::ClassIsolation>& after) {
  const std::string& id = node.record.id;
  const MonotonicTime now = monotonic_.now();
  // Class names here passed checkedIsolation (DNS-1123 labels): safe to log.
  const auto record = [&](QuarantineAudit::Entry entry) {
    if (auto write = node.audits.change(std::move(entry), now)) writeQuarantineEntry(node, *write);
  };
  const auto described = [](const api::ClassIsolation& c) {
    std::string out = c.runtime_class + " (" + std::string(api::isolationLevelName(c.level));
    if (c.claim) out += ", claim " + std::string(api::isolationLevelName(*c.claim));
    return out;  // the caller closes the parenthesis (after a suppression note)
  };
  for (const auto& entry : after) {
    // Only a verified entry starts or ends a quarantine: one that turned
    // unverified (expired, never verified) keeps the last verified state.
    if (entry.level == api::IsolationLevel::kUnverified) continue;
    const bool was_quarantined = node.quarantined.contains(entry.runtime_class);
    if (entry.quarantined() == was_quarantined) continue;
    if (entry.quarantined()) {
      node.quarantined.insert(entry.runtime_class);
      record({entry.runtime_class, "isolation.quarantined", described(entry),
              "node \"" + id + "\": runtime class \"" + entry.runtime_class +
                  "\" is quarantined: verified " +
                  std::string(api::isolationLevelName(entry.level)) + " is below its claim " +
                  std::string(api::isolationLevelName(entry.claim.value_or(entry.level))) +
                  " (score " + std::to_string(entry.score) + ")",
              true, 0});
    } else {
      node.quarantined.erase(entry.runtime_class);
      record({entry.runtime_class, "isolation.released", described(entry),
              "node \"" + id + "\": runtime class \"" + entry.runtime_class +
                  "\" is no longer quarantined: " +
                  std::string(api::isolationLevelName(entry.level)),
              false, 0});
    }
  }
  for (const auto& was : before) {
    if (!node.quarantined.contains(was.runtime_class) ||
        api::findIsolation(after, was.runtime_class) != nullptr) {
      continue;
    }
    node.quarantined.erase(was.runtime_class);
    record({was.runtime_class, "isolation.released", was.runtime_class + " (no longer reported",
            "node \"" + id + "\": runtime class \"" + was.runtime_class +
                "\" is no longer reported (was quarantined)",
            false, 0});
  }
}

void NodeRegistry::writeQuarantineEntry(const Node& node, const QuarantineAudit::Entry& entry) {
  const std::string note = QuarantineAudit::suppressedNote(entry.suppressed);
  if (entry.warning) {
    spdlog::warn("{}{}", entry.log, note);
  } else {
    spdlog::info("{}{}", entry.log, note);
  }
  store::AuditEntry audit;
  audit.time = clock_.now();
  audit.principal = "node:" + node.record.id;
  audit.action = entry.action;
  audit.target = entry.target + note + ")";
  audit.result = 200;
  audit.source = node.record.address;
  commits_.submit(
      {store::AppendAudit{std::move(audit)}},
      [](Status status) {
        if (!status) {
          spdlog::error("audit: an isolation entry could not be stored: {}",
                        status.error().toString());
        }
      },
      store::CommitQueue::Urgency::kBackground);
}

std::optional<api::ClassIsolation> NodeRegistry::classIsolation(
    std::string_view id, std::string_view runtime_class) const {
  const Node* node = find(id);
  if (node == nullptr) return std::nullopt;
  return isolationSummary(node->summaries, runtime_class);
}

}  // namespace zp::server
