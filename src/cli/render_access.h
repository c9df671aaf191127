#pragma once
// What `tokens` and `audit` print on success (docs/architecture.md §9.3):
// pure functions from the server's replies to text, like render.h. Lists are
// taken as {"items":[...]} (a bare array too); fields the CLI does not use are
// ignored. kInternal "unexpected reply from the server: ..." for the wrong
// shape. Every value from the server is sanitised.

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "common/time.h"

namespace zp::cli {

// `tokens create`: the token alone on the first line (for scripts: `| head -1`),
// then one line saying what it is and that it is shown only this once.
Result<std::string> renderTokenCreated(const nlohmann::json& reply);
// `tokens list`: NAME ROLE CREATED EXPIRES LAST USED ("in 89d", "expired",
// "never"); a join token without a name is "join:<id>", one spent "used". A
// sentence when empty.
Result<std::string> renderTokens(const nlohmann::json& reply, TimePoint now);
// `tokens revoke`: `token "NAME" revoked`.
std::string renderTokenRevoked(const std::string& name);
// `audit`: SEQ TIME PRINCIPAL ACTION TARGET RESULT SOURCE, oldest first.
Result<std::string> renderAudit(const nlohmann::json& reply);

}  // namespace zp::cli
