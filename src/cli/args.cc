#include "cli/args.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>
#include <tuple>
#include <utility>

#include "api/validate.h"
#include "cli/completion.h"
#include "cli/duration.h"
#include "cli/exit_codes.h"
#include "cli/help_examples.h"
#include "cli/server_url.h"
#include "common/build_info.h"
#include "common/time.h"

namespace zp::cli {
namespace {

constexpr const char* kFooter =
    "Connection: --server URL, --token TOKEN and --ca-cert FILE, else $ZONEPLANE_SERVER,\n"
    "$ZONEPLANE_TOKEN and $ZONEPLANE_CA_CERT, else server, token and ca_cert in the config\n"
    "file (--config, default ~/.config/zoneplane/config.toml; 0600 when it holds a token).\n"
    "The server defaults to https://127.0.0.1:7700, the CA to the system's trust store.\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  request failed: server unreachable, timed out, or answered with an error\n"
    "  2  usage error: bad flags, config file, server URL, token, CA file or workload file\n"
    "     (nothing was sent)\n"
    "  3  get --wait: timed out, or the workload reached a different final state";

constexpr const char* kGetFooter =
    "With --watch (-w), prints a row for every change until interrupted: the workloads\n"
    "matching --state/--node/--class (or the one ID) as ADDED, then ADDED, MODIFIED and\n"
    "DELETED as they enter, change and leave the filter.";

constexpr const char* kNodesFooter =
    "Without a subcommand, lists the nodes. `drain` cordons the node, then removes its\n"
    "workloads: OnFailure/Always ones are placed again elsewhere, Never ones end Failed.";

constexpr const char* kIsolationFooter =
    "Each node probes its runtime classes to verify their isolation: LEVEL is what the\n"
    "probe saw (shared-kernel, application-kernel, hypervisor; unverified before a probe\n"
    "or when the last is too old), SCORE 0-100, and the findings say what weakens it.\n"
    "A class verified below its CLAIM is quarantined: only trust levels that require\n"
    "nothing use it. --probe needs an operator token.";

constexpr const char* kTokensFooter =
    "Without a subcommand, lists the tokens. Roles: viewer (reads), operator (viewer +\n"
    "workloads and logs), admin (everything: nodes, tokens, audit). A join token lets one\n"
    "agent join once: zoneplane-agent --join https://SERVER:7700 --join-token TOKEN.";

constexpr const char* kRunFooter =
    "Without --class the server picks the first runtime class the trust level allows\n"
    "that a node with room offers (see `zoneplane trust-levels`).\n"
    "Everything after `--` is the command, e.g.:\n"
    "  zoneplane run --image registry.example.com/busybox:1.36 --trust internal -- sh -c \"exit "
    "3\"";

const std::vector<std::string> kStateNames = {"Pending", "Running", "Succeeded", "Failed",
                                              "Unknown"};

// A --timeout: a duration (cli/duration.h) from 1 ms up to a week.
CLI::Validator timeoutValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        using namespace std::chrono;
        auto timeout = parseDuration(text, "--timeout", 1ms, hours(24 * 7));
        return timeout ? std::string() : timeout.error().message;
      },
      "DURATION");
}

std::chrono::milliseconds timeoutOf(const std::string& text) {
  using namespace std::chrono;
  return parseDuration(text, "--timeout", 1ms, hours(24 * 7)).value();
}

// "90d", "12h", "30m", "3600s": what the server takes as expires_in.
CLI::Validator durationValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool unit =
            !text.empty() && std::string_view("smhd").find(text.back()) != std::string_view::npos;
        const std::string digits = unit ? text.substr(0, text.size() - 1) : std::string();
        const bool number =
            !digits.empty() && digits.size() <= 9 && digits.front() != '0' &&
            std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (number) return {};
        return "duration \"" + text + "\" is not a number with a unit s, m, h or d (e.g. 90d)";
      },
      "DURATION");
}

CLI::Validator nameValidator(std::string what) {
  return CLI::Validator(
      [what](std::string& name) -> std::string {
        if (api::isDns1123Label(name)) return {};
        return what + " \"" + name +
               "\" is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)";
      },
      "NAME");
}

CLI::Validator rfc3339Validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (parseRfc3339(text)) return {};
        return "\"" + text + "\" is not an RFC 3339 time (e.g. 2026-12-01T14:00:00Z)";
      },
      "TIME");
}

CLI::Validator workloadIdValidator() {
  return CLI::Validator(
      [](std::string& id) -> std::string {
        if (api::isDns1123Label(id)) return {};
        return "workload id \"" + id +
               "\" is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)";
      },
      "ID");
}

// Collects the values of one parse; turned into an Invocation afterwards.
struct Values {
  std::string server;
  std::string output = "table";
  std::string http_timeout = "10s";

  RunArgs run;
  std::string run_id, run_class, run_trust, run_profile, run_user;
  std::int64_t memory_mb = 0;
  std::int64_t cpu_millicores = 0;
  std::int64_t pids_limit = 0;

  ApplyArgs apply;

  GetArgs get;
  std::string wait_state;
  std::string wait_timeout = "60s";

  std::string run_restart;
  std::string get_state, get_node, get_class;
  std::string list_state, list_node, list_class;
  DeleteArgs del;
  LogsArgs logs;
  std::int64_t logs_tail = 0;
  std::string logs_stream;
  NodesArgs nodes;
  IsolationArgs isolation;
  std::string isolation_class;
  TokensArgs tokens;
  std::string token_name, token_role, token_expires;
  bool token_join = false;
  AuditQuery audit;
  ExecArgs exec;
  std::string audit_since;
  std::int64_t audit_limit = 0;
  std::string token, ca_cert, config;
};

}  // namespace

std::variant<Invocation, EarlyExit> parseArgs(const std::vector<std::string>& args) {
  Values v;
  CLI::App app("zoneplane: run workloads on a zoneplane cluster", "zoneplane");
  app.fallthrough();  // global options are accepted after the subcommand too
  // At most one; "none" is reported below, so that a mistyped command is named
  // by CLI11 ("not expected: frobnicate") rather than "A subcommand is required".
  app.require_subcommand(0, 1);
  app.footer(kFooter);  // inherited by the subcommands created below
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "error: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });
  app.set_version_flag("--version", versionText("zoneplane"));
  auto* server_opt =
      app.add_option("--server", v.server, "Server URL (https://host[:port][/prefix])");
  auto* token_opt = app.add_option(
      "--token", v.token, "API token (visible to other users in `ps`: prefer the config file)");
  auto* ca_cert_opt =
      app.add_option("--ca-cert", v.ca_cert, "CA certificate (PEM) the server's must chain to")
          ->type_name("FILE");
  auto* config_opt =
      app.add_option("--config", v.config, "Config file (default ~/.config/zoneplane/config.toml)")
          ->type_name("FILE");
  app.add_option("-o,--output", v.output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", v.http_timeout,
                 "Timeout of each HTTP request, e.g. 10s, 500ms, 2 (seconds); for `get`, put it "
                 "before `get`")
      ->check(timeoutValidator())
      ->capture_default_str();

  auto* run = app.add_subcommand("run", "Create a workload from flags (POST /workloads)");
  run->footer(std::string(kRunFooter) + "\n\n" + kFooter);
  run->add_option("--image", v.run.image, "OCI image reference")->required();
  auto* run_class_opt =
      run->add_option("--class", v.run_class,
                      "Runtime class, e.g. edera-zone (default: chosen by the trust level)");
  auto* trust_opt = run->add_option("--trust", v.run_trust, "Trust level (default: the server's)")
                        ->check(CLI::IsMember({"untrusted", "multi_tenant", "internal"}));
  auto* profile_opt =
      run->add_option("--profile", v.run_profile, "Security profile (server default: restricted)")
          ->check(CLI::IsMember({"restricted", "baseline"}));
  auto* user_opt =
      run->add_option("--user", v.run_user, "Run as UID or UID:GID (default: the image's user)");
  run->add_flag("--read-only", v.run.read_only, "Mount the root file system read-only");
  auto* pids_opt =
      run->add_option("--pids-limit", v.pids_limit, "Most processes at once (server default: 1024)")
          ->check(CLI::PositiveNumber);
  auto* id_opt = run->add_option("--id", v.run_id, "Workload id (generated when absent)");
  auto* mem_opt =
      run->add_option("--memory", v.memory_mb, "Memory limit in MiB")->check(CLI::PositiveNumber);
  auto* cpu_opt = run->add_option("--cpu", v.cpu_millicores, "CPU limit in millicores")
                      ->check(CLI::PositiveNumber);
  run->add_option("--env", v.run.env, "Environment variable KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  auto* restart_opt = run->add_option("--restart", v.run_restart,
                                      "Restart policy: Never (default), OnFailure or Always")
                          ->check(CLI::IsMember({"Never", "OnFailure", "Always"}));
  run->add_option("command", v.run.command, "Command and arguments, after `--`");

  auto* apply = app.add_subcommand("apply", "Create a workload from a JSON file (POST /workloads)");
  apply->add_option("-f,--file", v.apply.file, "WorkloadSpec JSON file, or - for stdin")
      ->required()
      ->type_name("FILE");

  auto* get =
      app.add_subcommand("get", "Show one workload (GET /workloads/ID), or watch workloads");
  get->footer(std::string(kGetFooter) + "\n\n" + kFooter);
  get->add_option("id", v.get.id, "Workload id (optional with --watch)")
      ->check(workloadIdValidator());
  auto* watch_opt = get->add_flag("-w,--watch", v.get.watch,
                                  "Print each change as it happens (GET /workloads?watch=true)");
  auto* wait_opt = get->add_option("--wait", v.wait_state, "Wait until the workload is in STATE")
                       ->check(CLI::IsMember(kStateNames))
                       ->excludes(watch_opt);
  get->add_option("--timeout", v.wait_timeout, "With --wait: give up after this long, e.g. 5m, 90")
      ->check(timeoutValidator())
      ->needs(wait_opt)
      ->capture_default_str();
  auto* get_state_opt = get->add_option("--state", v.get_state, "With --watch: only this state")
                            ->check(CLI::IsMember(kStateNames))
                            ->needs(watch_opt);
  auto* get_node_opt =
      get->add_option("--node", v.get_node, "With --watch: only this node")->needs(watch_opt);
  auto* get_class_opt =
      get->add_option("--class", v.get_class, "With --watch: only this runtime class")
          ->needs(watch_opt);

  auto* list = app.add_subcommand("list", "List workloads (GET /workloads)");
  auto* state_opt = list->add_option("--state", v.list_state, "Only workloads in this state")
                        ->check(CLI::IsMember(kStateNames));
  auto* node_opt = list->add_option("--node", v.list_node, "Only workloads on this node");
  auto* class_opt = list->add_option("--class", v.list_class, "Only this runtime class");

  auto* del = app.add_subcommand("delete", "Delete a workload (DELETE /workloads/ID)");
  del->add_option("id", v.del.id, "Workload id")->required()->check(workloadIdValidator());
  del->add_option("--grace", v.del.grace_seconds,
                  "Seconds a running container gets to exit before it is killed (server default: 10)")
      ->check(CLI::Range(0, 300));

  auto* logs = app.add_subcommand("logs", "Print a workload's log (GET /workloads/ID/logs)");
  logs->add_option("id", v.logs.id, "Workload id")->required()->check(workloadIdValidator());
  logs->add_flag("-f,--follow", v.logs.follow,
                 "Keep printing new lines until the workload ends or is deleted, into its next "
                 "copy when it moves to another node");
  auto* tail_opt = logs->add_option("--tail", v.logs_tail, "Only the last N lines")
                       ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000}));
  logs->add_flag("--timestamps", v.logs.timestamps, "Prefix each line with its RFC 3339 time");
  auto* stream_opt = logs->add_option("--stream", v.logs_stream, "Only stdout or stderr")
                         ->check(CLI::IsMember({"stdout", "stderr"}));

  auto* exec = addExecCommand(app, v.exec);
  exec->footer(exec->get_footer() + "\n\n" + kFooter);

  auto* nodes = app.add_subcommand("nodes", "List and manage nodes (GET /nodes)");
  nodes->footer(std::string(kNodesFooter) + "\n\n" + kFooter);
  nodes->require_subcommand(0, 1);
  nodes->fallthrough();
  auto* nodes_add = nodes->add_subcommand("add", "Add a node (POST /nodes)");
  nodes_add->add_option("id", v.nodes.id, "Node id")->required();
  nodes_add->add_option("address", v.nodes.address, "HOST:PORT of the node's agent")->required();
  auto* nodes_remove = nodes->add_subcommand("remove", "Remove a node (DELETE /nodes/ID)");
  nodes_remove->add_option("id", v.nodes.id, "Node id")->required();
  nodes_remove->add_flag("--force", v.nodes.force,
                         "Remove it even while workloads are placed on it (they are treated as "
                         "on a lost node)");
  std::vector<std::pair<CLI::App*, NodesArgs::Action>> node_actions;
  for (auto [name, help, action] :
       {std::tuple{"cordon", "Stop placing workloads on a node", NodesArgs::Action::kCordon},
        std::tuple{"uncordon", "Place workloads on a node again", NodesArgs::Action::kUncordon},
        std::tuple{"drain", "Cordon a node and move its workloads away",
                   NodesArgs::Action::kDrain}}) {
    auto* sub = nodes->add_subcommand(name, help);
    sub->add_option("id", v.nodes.id, "Node id")->required();
    node_actions.emplace_back(sub, action);
  }
  auto* isolation = app.add_subcommand(
      "isolation", "Show what a node verified of its runtime classes (GET /nodes/NODE/isolation)");
  isolation->footer(std::string(kIsolationFooter) + "\n\n" + kFooter);
  isolation->add_option("node", v.isolation.node, "Node id")
      ->required()
      ->check(nameValidator("node id"));
  isolation->add_flag("--probe", v.isolation.probe,
                      "Have the node probe now and wait for the result (POST "
                      "/nodes/NODE/probe; as long as the server's "
                      "probe_request_timeout_seconds, 10 minutes by default)");
  auto* isolation_class_opt =
      isolation->add_option("--class", v.isolation_class, "Only this runtime class")
          ->check(nameValidator("runtime class"));
  auto* trust_levels = app.add_subcommand(
      "trust-levels", "Show the trust levels and their runtime classes (GET /trust-levels)");

  auto* tokens = app.add_subcommand("tokens", "List, create and revoke API tokens (admin)");
  tokens->footer(std::string(kTokensFooter) + "\n\n" + kFooter);
  tokens->require_subcommand(0, 1);
  tokens->fallthrough();
  tokens->add_subcommand("list", "List the tokens (GET /tokens)");  // = `tokens` alone
  auto* tokens_create = tokens->add_subcommand(
      "create", "Create a token (POST /tokens); its secret is printed only this once");
  auto* token_name_opt =
      tokens_create->add_option("--name", v.token_name, "Token name, unique (optional with --join)")
          ->check(nameValidator("token name"));
  auto* token_join_opt =
      tokens_create->add_flag("--join", v.token_join, "A one-time join token for an agent");
  auto* token_role_opt = tokens_create->add_option("--role", v.token_role, "Role of the token")
                             ->check(CLI::IsMember({"admin", "operator", "viewer"}))
                             ->excludes(token_join_opt);
  auto* token_expires_opt =
      tokens_create
          ->add_option("--expires-in", v.token_expires,
                       "Lifetime, e.g. 90d, 12h, 30m, 3600s (default: none; 1h with --join)")
          ->check(durationValidator());
  auto* tokens_revoke =
      tokens->add_subcommand("revoke", "Revoke a token at once (DELETE /tokens/NAME)");
  tokens_revoke
      ->add_option("name", v.tokens.name, "Token name (a join token without one: join:ID or ID)")
      ->transform([](std::string name) {
        // `tokens list` shows an unnamed join token as join:<id>; the API takes the id.
        return name.starts_with("join:") ? name.substr(5) : name;
      })
      ->required()
      ->check(nameValidator("token name"));

  auto* audit = app.add_subcommand("audit", "Show the audit log, oldest first (admin; GET /audit)");
  auto* since_opt = audit->add_option("--since", v.audit_since, "Only entries from this time on")
                        ->check(rfc3339Validator());
  auto* limit_opt = audit->add_option("--limit", v.audit_limit, "At most N entries (1 to 1000)")
                        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000}));

  std::string completion_shell;
  auto* completion = addCompletionCommand(app, completion_shell);
  addHelpExamples(app);

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants them reversed
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    return EarlyExit{code == 0 ? kExitOk : kExitUsage, out.str(), err.str()};
  }
  if (completion->parsed()) {
    const Shell shell = completion_shell == "zsh" ? Shell::kZsh : Shell::kBash;
    return EarlyExit{kExitOk, completionScript(app, "zoneplane", shell), ""};
  }

  Invocation inv;
  if (server_opt->count() > 0) inv.global.server = v.server;
  if (token_opt->count() > 0) inv.global.token = v.token;
  if (ca_cert_opt->count() > 0) inv.global.ca_cert = v.ca_cert;
  if (config_opt->count() > 0) inv.global.config = v.config;
  inv.global.output = v.output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  inv.global.http_timeout = timeoutOf(v.http_timeout);

  if (run->parsed()) {
    if (id_opt->count() > 0) v.run.id = v.run_id;
    if (run_class_opt->count() > 0) v.run.runtime_class = v.run_class;
    if (trust_opt->count() > 0) v.run.trust = v.run_trust;
    if (profile_opt->count() > 0) v.run.profile = v.run_profile;
    if (user_opt->count() > 0) v.run.user = v.run_user;
    if (pids_opt->count() > 0) v.run.pids_limit = v.pids_limit;
    if (mem_opt->count() > 0) v.run.memory_mb = v.memory_mb;
    if (cpu_opt->count() > 0) v.run.cpu_millicores = v.cpu_millicores;
    if (restart_opt->count() > 0) v.run.restart_policy = v.run_restart;
    inv.command = std::move(v.run);
  } else if (apply->parsed()) {
    inv.command = std::move(v.apply);
  } else if (get->parsed()) {
    if (!v.get.watch && v.get.id.empty()) {
      return EarlyExit{kExitUsage, "",
                       "error: get needs a workload ID (or --watch)\n"
                       "Run with --help for more information.\n"};
    }
    if (wait_opt->count() > 0) v.get.wait = api::parseState(v.wait_state);
    v.get.wait_timeout = timeoutOf(v.wait_timeout);
    if (get_state_opt->count() > 0) v.get.filters.state = v.get_state;
    if (get_node_opt->count() > 0) v.get.filters.node = v.get_node;
    if (get_class_opt->count() > 0) v.get.filters.runtime_class = v.get_class;
    inv.command = std::move(v.get);
  } else if (list->parsed()) {
    ListFilters filters;
    if (state_opt->count() > 0) filters.state = v.list_state;
    if (node_opt->count() > 0) filters.node = v.list_node;
    if (class_opt->count() > 0) filters.runtime_class = v.list_class;
    inv.command = std::move(filters);
  } else if (del->parsed()) {
    inv.command = std::move(v.del);
  } else if (logs->parsed()) {
    if (tail_opt->count() > 0) v.logs.tail = v.logs_tail;
    if (stream_opt->count() > 0) v.logs.stream = v.logs_stream;
    inv.command = std::move(v.logs);
  } else if (exec->parsed()) {
    inv.command = std::move(v.exec);
  } else if (nodes->parsed()) {
    v.nodes.action = NodesArgs::Action::kList;
    if (nodes_add->parsed()) v.nodes.action = NodesArgs::Action::kAdd;
    if (nodes_remove->parsed()) v.nodes.action = NodesArgs::Action::kRemove;
    for (const auto& [sub, action] : node_actions) {
      if (sub->parsed()) v.nodes.action = action;
    }
    inv.command = std::move(v.nodes);
  } else if (isolation->parsed()) {
    if (isolation_class_opt->count() > 0) v.isolation.runtime_class = v.isolation_class;
    inv.command = std::move(v.isolation);
  } else if (trust_levels->parsed()) {
    inv.command = TrustLevelsArgs{};
  } else if (tokens->parsed()) {
    v.tokens.action = TokensArgs::Action::kList;
    if (tokens_revoke->parsed()) v.tokens.action = TokensArgs::Action::kRevoke;
    if (tokens_create->parsed()) {
      if (!v.token_join && (token_name_opt->count() == 0 || token_role_opt->count() == 0)) {
        return EarlyExit{kExitUsage, "",
                         "error: tokens create needs --name and --role (or --join)\n"
                         "Run with --help for more information.\n"};
      }
      v.tokens.action = TokensArgs::Action::kCreate;
      v.tokens.create.role = v.token_join ? "join" : v.token_role;
      if (token_name_opt->count() > 0) v.tokens.create.name = v.token_name;
      if (token_expires_opt->count() > 0) v.tokens.create.expires_in = v.token_expires;
    }
    inv.command = std::move(v.tokens);
  } else if (audit->parsed()) {
    if (since_opt->count() > 0) v.audit.since = v.audit_since;
    if (limit_opt->count() > 0) v.audit.limit = v.audit_limit;
    inv.command = std::move(v.audit);
  } else {
    return EarlyExit{kExitUsage, "",
                     "error: a command is required: run, apply, get, list, delete, logs, exec, "
                     "nodes, isolation, trust-levels, tokens or audit\n"
                     "Run with --help for more information.\n"};
  }
  return inv;
}

}  // namespace zp::cli
