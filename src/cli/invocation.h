#pragma once
// What the user asked for, as plain values: the result of parsing the command
// line (args.h), the input of executing it (commands.h).

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "api/workload.h"
#include "cli/render.h"
#include "cli/requests.h"
#include "cli/wait.h"

namespace zp::cli {

inline constexpr std::chrono::milliseconds kDefaultHttpTimeout{10'000};

struct GlobalOptions {
  std::optional<std::string> server;  // --server; else $ZONEPLANE_SERVER; else the default
  OutputFormat output = OutputFormat::kTable;
  std::chrono::milliseconds http_timeout = kDefaultHttpTimeout;
};

struct ApplyArgs {
  std::string file;  // a path, or "-" for stdin
};

struct GetArgs {
  std::string id;
  std::optional<api::WorkloadState> wait;  // --wait STATE
  std::chrono::milliseconds wait_timeout = kDefaultWaitTimeout;
};

// The grace period the server uses when `delete` does not give one.
inline constexpr int kServerDefaultGraceSeconds = 10;

struct DeleteArgs {
  std::string id;
  std::optional<int> grace_seconds;  // --grace: SIGTERM-to-SIGKILL time; server default if unset
};

struct NodesArgs {};
struct TrustLevelsArgs {};

// `run` is RunArgs, `list` is ListFilters (requests.h).
using Command =
    std::variant<RunArgs, ApplyArgs, GetArgs, ListFilters, DeleteArgs, NodesArgs, TrustLevelsArgs>;

struct Invocation {
  GlobalOptions global;
  Command command;
};

}  // namespace zp::cli
