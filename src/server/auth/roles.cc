#include "server/auth/roles.h"

#include <array>
#include <cstdint>
#include <utility>

namespace zp::server::auth {
namespace {

using RoleSet = std::uint8_t;

constexpr RoleSet bit(Role role) { return static_cast<RoleSet>(1u << static_cast<unsigned>(role)); }

constexpr RoleSet kViewer = bit(Role::kViewer);
constexpr RoleSet kOperator = bit(Role::kOperator);
constexpr RoleSet kAdmin = bit(Role::kAdmin);
constexpr RoleSet kJoin = bit(Role::kJoin);

// Who holds what (docs/architecture.md §9.3): viewer reads everything but
// logs, tokens and the audit log; operator also runs and deletes workloads,
// reads logs, runs commands in workloads (exec) and has nodes verify their
// isolation now (a probe changes
// nothing but the verification); admin does everything an API token can. A join token does
// one thing only, and only it can join: joining spends a join token, which
// an admin token is not (an admin creates a join token instead). The
// Router's own answers (kAuthenticated) are for API tokens: a join token
// gets 403 there, unspent.
struct Rule {
  Permission permission;
  RoleSet roles;
};
constexpr std::array kRules{
    Rule{Permission::kPublic, kViewer | kOperator | kAdmin | kJoin},
    Rule{Permission::kAuthenticated, kViewer | kOperator | kAdmin},
    Rule{Permission::kRead, kViewer | kOperator | kAdmin},
    Rule{Permission::kReadLogs, kOperator | kAdmin},
    Rule{Permission::kManageWorkloads, kOperator | kAdmin},
    Rule{Permission::kExec, kOperator | kAdmin},
    Rule{Permission::kProbeNodes, kOperator | kAdmin},
    Rule{Permission::kManageCluster, kAdmin},
    Rule{Permission::kJoin, kJoin},
};

constexpr std::array<std::pair<Role, std::string_view>, 4> kRoleNames{{
    {Role::kViewer, "viewer"},
    {Role::kOperator, "operator"},
    {Role::kAdmin, "admin"},
    {Role::kJoin, "join"},
}};

constexpr std::array<std::pair<Permission, std::string_view>, 9> kPermissionNames{{
    {Permission::kPublic, "public"},
    {Permission::kAuthenticated, "authenticated"},
    {Permission::kRead, "read"},
    {Permission::kReadLogs, "read-logs"},
    {Permission::kManageWorkloads, "manage-workloads"},
    {Permission::kExec, "exec"},
    {Permission::kProbeNodes, "probe-nodes"},
    {Permission::kManageCluster, "manage-cluster"},
    {Permission::kJoin, "join"},
}};

}  // namespace

std::string_view roleName(Role role) {
  for (const auto& [r, name] : kRoleNames) {
    if (r == role) return name;
  }
  return "unknown";
}

std::optional<Role> parseRole(std::string_view name) {
  for (const auto& [role, n] : kRoleNames) {
    if (n == name) return role;
  }
  return std::nullopt;
}

std::string_view permissionName(Permission permission) {
  for (const auto& [p, name] : kPermissionNames) {
    if (p == permission) return name;
  }
  return "unknown";
}

bool allows(Role role, Permission permission) {
  for (const auto& rule : kRules) {
    if (rule.permission == permission) return (rule.roles & bit(role)) != 0;
  }
  return false;  // a permission without a rule is held by nobody
}

}  // namespace zp::server::auth
