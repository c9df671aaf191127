#pragma once
// Roles and permissions of the API (docs/architecture.md §9.3). A route
// declares the permission it requires when it is added to the Router; which
// role holds which permission is one table (roles.cc), so the access rules
// of the whole API can be read, reviewed and tested in one place.
// Values and pure functions; thread-safe.

#include <optional>
#include <string_view>

namespace zp::server::auth {

enum class Role { kViewer, kOperator, kAdmin, kJoin };

// "viewer", "operator", "admin", "join".
std::string_view roleName(Role role);
// The inverse of roleName; nullopt for anything else.
std::optional<Role> parseRole(std::string_view name);

// What a route requires.
enum class Permission {
  kPublic,           // no token at all: GET /healthz, GET /openapi.json
  kAuthenticated,    // any valid API token (not a join token): paths no route matches (400/404/405)
  kRead,             // GET/HEAD of workloads, nodes, trust levels, /stats
  kReadLogs,         // GET /workloads/{id}/logs
  kManageWorkloads,  // POST /workloads, DELETE /workloads/{id}
  kProbeNodes,       // POST /nodes/{id}/probe: verify a node's isolation now
  kManageCluster,    // nodes (add, remove, cordon, uncordon, drain), /tokens, /audit
  kJoin,             // POST /join: a join token, spent by the call
};

// "public", "authenticated", "read", "read-logs", "manage-workloads",
// "probe-nodes", "manage-cluster", "join": for messages.
std::string_view permissionName(Permission permission);

// Whether a token of `role` may use a route that requires `permission`.
// Every role holds kPublic.
bool allows(Role role, Permission permission);

}  // namespace zp::server::auth
