#include "sim/sim_registry.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "api/json.h"

namespace zp::sim {
namespace {

std::int64_t toMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::optional<TimePoint> fromMillis(std::int64_t ms) {
  if (ms == 0) return std::nullopt;
  return TimePoint{std::chrono::milliseconds{ms}};
}

// The identity of a spec for the idempotence check: its JSON form (which
// holds every field) hashed. The spec itself is not kept.
std::uint64_t specHash(const api::WorkloadSpec& spec) {
  return std::hash<std::string>{}(api::toJson(spec).dump());
}

}  // namespace

SimRegistry::SimRegistry(RegistryOptions options)
    : options_(std::move(options)), random_(std::random_device{}()) {
  std::sort(options_.runtime_classes.begin(), options_.runtime_classes.end());
}

std::string SimRegistry::newUid() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uid = "sim-";
  std::uint64_t bits = random_();
  for (int i = 0; i < 16; ++i, bits >>= 4) uid.push_back(kHex[bits & 0xf]);
  return uid;
}

api::WorkloadStatus SimRegistry::statusOf(const Table::value_type& entry) const {
  const auto& [id, w] = entry;
  api::WorkloadStatus s;
  s.id = id;
  s.uid = w.uid;
  s.state = w.state;
  s.node = options_.node_id;
  s.created_at = fromMillis(w.created_ms);
  s.started_at = fromMillis(w.started_ms);
  s.finished_at = fromMillis(w.finished_ms);
  switch (w.state) {
    case api::WorkloadState::kPending:
      s.reason = api::reason::kScheduled;
      s.message = "accepted by the node";
      break;
    case api::WorkloadState::kRunning:
      s.reason = api::reason::kStarted;
      break;
    case api::WorkloadState::kSucceeded:
      s.reason = api::reason::kStopped;
      s.message = "stopped on request";
      s.exit_code = 0;
      break;
    default:
      break;
  }
  return s;
}

void SimRegistry::release(const Workload& w) {
  if (api::isTerminal(w.state)) return;
  allocated_.memory_mb -= w.memory_mb;
  allocated_.cpu_millicores -= w.cpu_millicores;
}

Result<SimRegistry::Outcome> SimRegistry::start(const api::WorkloadSpec& spec,
                                                const std::string& uid, TimePoint now) {
  if (!std::binary_search(options_.runtime_classes.begin(), options_.runtime_classes.end(),
                          spec.runtime_class)) {
    std::string offered;
    for (const auto& c : options_.runtime_classes) offered += (offered.empty() ? "" : ", ") + c;
    return fail(Code::kInvalidArgument,
                "runtime class \"" + spec.runtime_class + "\" is not offered by node \"" +
                    options_.node_id + "\" (offered: " + offered + ")",
                "workload.runtime_class");
  }
  const std::uint64_t hash = specHash(spec);
  if (auto it = workloads_.find(spec.id); it != workloads_.end()) {
    const Workload& w = it->second;
    if ((!uid.empty() && uid != w.uid) || hash != w.spec_hash) {
      return fail(Code::kAlreadyExists,
                  "workload \"" + spec.id + "\" already exists with a different " +
                      (hash != w.spec_hash ? "spec" : "uid"),
                  "workload.id");
    }
    return Outcome{statusOf(*it), false};
  }
  Workload w;
  w.uid = uid.empty() ? newUid() : uid;
  w.spec_hash = hash;
  w.created_ms = toMillis(now);
  // The api bounds (≤ 1,048,576 MB, ≤ 256,000 millicores) fit 32 bits.
  w.memory_mb = static_cast<std::int32_t>(spec.memory_mb);
  w.cpu_millicores = static_cast<std::int32_t>(spec.cpu_millicores);
  allocated_.memory_mb += w.memory_mb;
  allocated_.cpu_millicores += w.cpu_millicores;
  auto [it, inserted] = workloads_.emplace(spec.id, std::move(w));
  return Outcome{statusOf(*it), true};
}

std::optional<api::WorkloadStatus> SimRegistry::markRunning(std::string_view id,
                                                            std::string_view uid, TimePoint now) {
  auto it = workloads_.find(id);
  if (it == workloads_.end() || it->second.uid != uid ||
      it->second.state != api::WorkloadState::kPending) {
    return std::nullopt;
  }
  it->second.state = api::WorkloadState::kRunning;
  it->second.started_ms = toMillis(now);
  return statusOf(*it);
}

Result<api::WorkloadStatus> SimRegistry::status(std::string_view id) const {
  auto it = workloads_.find(id);
  if (it == workloads_.end()) {
    return fail(Code::kNotFound,
                "no workload \"" + std::string(id) + "\" on node \"" + options_.node_id + "\"",
                "id");
  }
  return statusOf(*it);
}

Result<SimRegistry::Outcome> SimRegistry::stop(std::string_view id, TimePoint now) {
  auto it = workloads_.find(id);
  if (it == workloads_.end()) return fail(status(id).error());
  Workload& w = it->second;
  if (api::isTerminal(w.state)) return Outcome{statusOf(*it), false};
  release(w);
  w.state = api::WorkloadState::kSucceeded;
  w.finished_ms = toMillis(now);
  return Outcome{statusOf(*it), true};
}

Status SimRegistry::remove(std::string_view id, std::string_view uid) {
  auto it = workloads_.find(id);
  if (it == workloads_.end()) return fail(status(id).error());
  if (!uid.empty() && uid != it->second.uid) return ok();  // another submission's copy
  release(it->second);
  workloads_.erase(it);
  return ok();
}

protocol::WorkloadList SimRegistry::list(std::int64_t limit, std::string_view after) const {
  protocol::WorkloadList page;
  auto it = after.empty() ? workloads_.begin() : workloads_.upper_bound(after);
  for (; it != workloads_.end() && static_cast<std::int64_t>(page.items.size()) < limit; ++it) {
    page.items.push_back(statusOf(*it));
  }
  if (it != workloads_.end() && !page.items.empty()) page.next = page.items.back().id;
  return page;
}

api::NodeInfo SimRegistry::nodeInfo(std::optional<std::int64_t> held_revision) const {
  constexpr std::int64_t kRevision = 1;  // the simulated verification never changes
  api::NodeInfo info;
  info.isolation_revision = kRevision;
  if (held_revision != kRevision) {
    std::vector<api::ClassIsolation> classes;
    classes.reserve(options_.runtime_classes.size());
    for (const auto& cls : options_.runtime_classes) {
      api::ClassIsolation c;
      c.runtime_class = cls;
      c.level = options_.isolation.level;
      c.score = options_.isolation.score;
      if (c.level != api::IsolationLevel::kUnverified) {
        c.verified_at = options_.isolation.verified_at;
        c.probe_version = options_.version;
      }
      classes.push_back(std::move(c));
    }
    info.isolation = std::move(classes);
  }
  info.node_id = options_.node_id;
  info.capacity = options_.capacity;
  info.allocatable = {options_.capacity.memory_mb - allocated_.memory_mb,
                      options_.capacity.cpu_millicores - allocated_.cpu_millicores};
  info.runtime_classes = options_.runtime_classes;
  info.version = options_.version;
  info.workloads = static_cast<int>(workloads_.size());
  return info;
}

Result<api::NodeInfo> SimRegistry::probe(std::string_view runtime_class) const {
  if (!runtime_class.empty() &&
      !std::binary_search(options_.runtime_classes.begin(), options_.runtime_classes.end(),
                          runtime_class)) {
    return fail(Code::kNotFound,
                "node \"" + options_.node_id + "\" has no runtime class \"" +
                    std::string(runtime_class.substr(0, 80)) + "\"",
                "runtime_class");
  }
  return nodeInfo();
}

}  // namespace zp::sim
