#pragma once
// Building the REST requests of the CLI (docs/architecture.md §7). Pure functions from
// command-line values to HttpRequests, so each mapping is unit-testable.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/http_client.h"
#include "common/status.h"

namespace zp::cli {

// What `zoneplane run` was given.
struct RunArgs {
  std::string image;
  std::optional<std::string> runtime_class;  // unset: the server picks one for the trust level
  std::optional<std::string> trust;          // untrusted | multi_tenant | internal
  std::optional<std::string> profile;        // security.profile: restricted | baseline
  std::optional<std::string> user;           // "UID" or "UID:GID"
  bool read_only = false;                    // security.read_only_root_fs
  std::optional<std::int64_t> pids_limit;    // security.pids_limit
  std::optional<std::string> id;
  std::optional<std::int64_t> memory_mb;
  std::optional<std::int64_t> cpu_millicores;
  std::vector<std::string> env;      // "KEY=VALUE" entries, in order
  std::vector<std::string> command;  // everything after `--`
  std::optional<std::string> restart_policy;  // Never | OnFailure | Always
};

// Filters of `zoneplane list` and of watches; unset ones are left out of the
// query.
struct ListFilters {
  std::optional<std::string> state;
  std::optional<std::string> node;
  std::optional<std::string> runtime_class;
};

// What `zoneplane logs` asks for.
struct LogsArgs {
  std::string id;
  bool follow = false;
  std::optional<std::int64_t> tail;
  bool timestamps = false;
  std::optional<std::string> stream;  // stdout | stderr
};

// What `tokens create` asks for (docs/architecture.md §9.3).
struct TokenSpec {
  std::optional<std::string> name;        // required unless role is "join"
  std::string role;                       // admin | operator | viewer | join
  std::optional<std::string> expires_in;  // "90d", "12h", "30m", "3600s"; none: no expiry
};

// What `audit` asks for.
struct AuditQuery {
  std::optional<std::string> since;  // RFC 3339
  std::optional<std::int64_t> limit;
};

// The WorkloadSpec JSON for `run`: image always, the other keys only when
// given; --profile, --user, --read-only and --pids-limit go into "security",
// --restart is "restart_policy".
// kInvalidArgument (field "env") for an env entry that is not KEY=VALUE with a
// non-empty KEY, or a KEY given twice; (field "user") for a --user that is not
// UID or UID:GID in decimal.
Result<nlohmann::json> buildRunBody(const RunArgs& args);

// "1000" -> {1000, nullopt}; "1000:100" -> {1000, 100}. Numbers are decimal,
// 0 to 2147483647 (the server decides whether 0 is allowed).
struct UserIds {
  std::int64_t uid = 0;
  std::optional<std::int64_t> gid;
};
Result<UserIds> parseUserIds(std::string_view text);

// Each request's target starts with `path_prefix` ("" or "/api"). Ids are
// percent-encoded, so any string stays one path segment.
HttpRequest createWorkloadRequest(const std::string& path_prefix, const nlohmann::json& body);
HttpRequest getWorkloadRequest(const std::string& path_prefix, const std::string& id);
HttpRequest listWorkloadsRequest(const std::string& path_prefix, const ListFilters& filters);
HttpRequest deleteWorkloadRequest(const std::string& path_prefix, const std::string& id,
                                  std::optional<int> grace_seconds = std::nullopt);
HttpRequest listNodesRequest(const std::string& path_prefix);
HttpRequest listTrustLevelsRequest(const std::string& path_prefix);
// GET /workloads?watch=true&<filters>[&id=ID] (id empty: every workload).
HttpRequest watchWorkloadsRequest(const std::string& path_prefix, const ListFilters& filters,
                                  const std::string& id = {});
// GET /workloads/ID/logs with only the options given (follow/timestamps when true).
HttpRequest logsRequest(const std::string& path_prefix, const LogsArgs& args);
// POST /nodes {"id","address"}.
HttpRequest addNodeRequest(const std::string& path_prefix, const std::string& id,
                           const std::string& address);
// DELETE /nodes/ID[?force=true].
HttpRequest removeNodeRequest(const std::string& path_prefix, const std::string& id, bool force);
// POST /nodes/ID/<action>: cordon, uncordon or drain.
HttpRequest nodeActionRequest(const std::string& path_prefix, const std::string& id,
                              const std::string& action);
// GET /nodes/ID/isolation.
HttpRequest nodeIsolationRequest(const std::string& path_prefix, const std::string& id);
// POST /nodes/ID/probe[?runtime_class=NAME] (runtime_class empty: every class).
HttpRequest probeNodeRequest(const std::string& path_prefix, const std::string& id,
                             const std::string& runtime_class = {});
// POST /tokens {"name"?, "role", "expires_in"?}.
HttpRequest createTokenRequest(const std::string& path_prefix, const TokenSpec& spec);
// GET /tokens.
HttpRequest listTokensRequest(const std::string& path_prefix);
// DELETE /tokens/NAME.
HttpRequest revokeTokenRequest(const std::string& path_prefix, const std::string& name);
// GET /audit[?since=…&limit=N].
HttpRequest auditRequest(const std::string& path_prefix, const AuditQuery& query);

}  // namespace zp::cli
