#pragma once
// What the user asked for, as plain values: the result of parsing the command
// line (args.h), the input of executing it (commands.h).

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "api/workload.h"
#include "cli/exec_command.h"
#include "cli/render.h"
#include "cli/requests.h"
#include "cli/wait.h"

namespace zp::cli {

inline constexpr std::chrono::milliseconds kDefaultHttpTimeout{10'000};

// Connection settings given as flags; each overrides its environment
// variable and config file key (config.h).
struct GlobalOptions {
  std::optional<std::string> server;   // --server
  std::optional<std::string> token;    // --token
  std::optional<std::string> ca_cert;  // --ca-cert
  std::optional<std::string> config;   // --config FILE: instead of the default path
  OutputFormat output = OutputFormat::kTable;
  std::chrono::milliseconds http_timeout = kDefaultHttpTimeout;
};

struct ApplyArgs {
  std::string file;  // a path, or "-" for stdin
};

struct GetArgs {
  std::string id;  // empty only with `watch`: every workload the filters match
  std::optional<api::WorkloadState> wait;  // --wait STATE
  std::chrono::milliseconds wait_timeout = kDefaultWaitTimeout;
  bool watch = false;   // -w/--watch: print each change as it happens
  ListFilters filters;  // with `watch`: --state, --node, --class
};

// The grace period the server uses when `delete` does not give one.
inline constexpr int kServerDefaultGraceSeconds = 10;

struct DeleteArgs {
  std::string id;
  std::optional<int> grace_seconds;  // --grace: SIGTERM-to-SIGKILL time; server default if unset
};

struct NodesArgs {
  enum class Action { kList, kAdd, kRemove, kCordon, kUncordon, kDrain };
  Action action = Action::kList;
  std::string id;       // every action but kList
  std::string address;  // kAdd: HOST:PORT of the node's agent
  bool force = false;   // kRemove: even while workloads are placed on it
};
struct TrustLevelsArgs {};

// `isolation NODE [--probe] [--class NAME]`.
struct IsolationArgs {
  std::string node;
  bool probe = false;                        // POST /nodes/NODE/probe first
  std::optional<std::string> runtime_class;  // only this class (and only its probe)
};

struct TokensArgs {
  enum class Action { kList, kCreate, kRevoke };
  Action action = Action::kList;
  TokenSpec create;  // kCreate
  std::string name;  // kRevoke
};

// `run` is RunArgs, `list` is ListFilters, `logs` is LogsArgs, `audit` is
// AuditQuery (requests.h), `exec` is ExecArgs (exec_command.h).
using Command = std::variant<RunArgs, ApplyArgs, GetArgs, ListFilters, DeleteArgs, LogsArgs,
                             NodesArgs, IsolationArgs, TrustLevelsArgs, TokensArgs, AuditQuery,
                             ExecArgs>;

struct Invocation {
  GlobalOptions global;
  Command command;
};

}  // namespace zp::cli
