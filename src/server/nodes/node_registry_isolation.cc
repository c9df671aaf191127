// NodeRegistry: the nodes' verified isolation (docs/architecture.md §10.3):
// the list from Hello, heartbeats and probes, the audit of quarantine
// changes, and the probe on demand. Membership, lifecycle and the links live
// in node_registry.cc.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/nodes/node_registry.h"

namespace zp::server {

namespace asio = boost::asio;

bool NodeRegistry::updateIsolation(Node& node, std::vector<api::ClassIsolation> classes,
                                   std::int64_t revision, bool hello) {
  // On one connection revisions only grow: an older list (a reply overtaken
  // by a newer one) is stale. A Hello starts a connection (maybe to a
  // restarted agent): its list always counts.
  if (!hello && node.isolation_revision && revision < *node.isolation_revision) return false;
  node.isolation_revision = revision;
  std::sort(classes.begin(), classes.end(),
            [](const api::ClassIsolation& a, const api::ClassIsolation& b) {
              return a.runtime_class < b.runtime_class;
            });
  if (classes == node.isolation) return false;
  auditQuarantine(node, node.isolation, classes);
  node.isolation = std::move(classes);
  ++isolation_epoch_;
  return true;
}

void NodeRegistry::auditQuarantine(Node& node, const std::vector<api::ClassIsolation>& before,
                                   const std::vector<api::ClassIsolation>& after) {
  const std::string& id = node.record.id;
  const auto entry = [&](std::string_view action, std::string target) {
    store::AuditEntry audit;
    audit.time = clock_.now();
    audit.principal = "node:" + id;
    audit.action = std::string(action);
    audit.target = std::move(target);
    audit.result = 200;
    audit.source = node.record.address;
    commits_.submit({store::AppendAudit{std::move(audit)}}, [](Status status) {
      if (!status) {
        spdlog::error("audit: an isolation entry could not be stored: {}",
                      status.error().toString());
      }
    });
  };
  const auto described = [](const api::ClassIsolation& c) {
    std::string out = c.runtime_class + " (" + std::string(api::isolationLevelName(c.level));
    if (c.claim) out += ", claim " + std::string(api::isolationLevelName(*c.claim));
    return out + ")";
  };
  for (const auto& now : after) {
    // Only a verified entry starts or ends a quarantine: one that turned
    // unverified (expired, never verified) keeps the last verified state.
    if (now.level == api::IsolationLevel::kUnverified) continue;
    const bool was_quarantined = node.quarantined.contains(now.runtime_class);
    if (now.quarantined() == was_quarantined) continue;
    if (now.quarantined()) {
      node.quarantined.insert(now.runtime_class);
      spdlog::warn(
          "node \"{}\": runtime class \"{}\" is quarantined: verified {} is below its claim {} "
          "(score {})",
          id, now.runtime_class, api::isolationLevelName(now.level),
          api::isolationLevelName(now.claim.value_or(now.level)), now.score);
      entry("isolation.quarantined", described(now));
    } else {
      node.quarantined.erase(now.runtime_class);
      spdlog::info("node \"{}\": runtime class \"{}\" is no longer quarantined: {}", id,
                   now.runtime_class, api::isolationLevelName(now.level));
      entry("isolation.released", described(now));
    }
  }
  for (const auto& was : before) {
    if (!node.quarantined.contains(was.runtime_class) ||
        api::findIsolation(after, was.runtime_class) != nullptr) {
      continue;
    }
    node.quarantined.erase(was.runtime_class);
    spdlog::info("node \"{}\": runtime class \"{}\" is no longer reported (was quarantined)", id,
                 was.runtime_class);
    entry("isolation.released", was.runtime_class + " (no longer reported)");
  }
}

std::optional<api::ClassIsolation> NodeRegistry::classIsolation(
    std::string_view id, std::string_view runtime_class) const {
  const Node* node = find(id);
  if (node == nullptr) return std::nullopt;
  return isolationSummary(node->isolation, runtime_class);
}

asio::awaitable<Result<NodeView>> NodeRegistry::probe(std::string id, std::string runtime_class) {
  const Node* node = find(id);
  if (node == nullptr || node->removing) {
    co_return fail(Code::kNotFound, "no node \"" + id.substr(0, 80) + "\"");
  }
  // The answer belongs to this link's node: not to one removed and added
  // again meanwhile.
  const AgentLink* link = node->link.get();
  protocol::RequestBody request = protocol::ProbeIsolation{runtime_class};
  auto reply = co_await call(id, std::move(request), options_.probe_timeout);
  if (!reply) co_return fail(reply.error());
  Node* probed = find(id);
  if (probed == nullptr || probed->link.get() != link) {
    co_return fail(Code::kNotFound, "node \"" + id + "\" was removed while it probed");
  }
  auto* info = std::get_if<api::NodeInfo>(&*reply);
  if (info == nullptr || !info->isolation) {
    co_return fail(Code::kInternal, "node \"" + id + "\" answered ProbeIsolation with " +
                                        std::string(protocol::typeName(*reply)) +
                                        (info != nullptr ? " without isolation" : ""));
  }
  if (updateIsolation(*probed, std::move(*info->isolation), info->isolation_revision,
                      /*hello=*/false) &&
      probed->lifecycle.state() == NodeState::kReady) {
    notifyChanged(*probed);
  }
  co_return view(*probed);
}

}  // namespace zp::server
