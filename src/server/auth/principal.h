#pragma once
// Who made a request (docs/architecture.md §9.3). Set by the Router's
// authorization step; read by handlers and the audit log. A plain value.

#include <optional>
#include <string>
#include <string_view>

#include "server/auth/roles.h"

namespace zp::server::auth {

inline constexpr std::string_view kAnonymous = "anonymous";

struct Principal {
  // As the audit log names it: the token's name, "join:<id>", or "anonymous".
  std::string name{kAnonymous};
  std::string token_id;      // "" when anonymous
  std::optional<Role> role;  // none when anonymous

  bool authenticated() const { return role.has_value(); }
};

}  // namespace zp::server::auth
