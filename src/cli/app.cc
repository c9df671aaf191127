#include "cli/app.h"

#include <fstream>
#include <istream>
#include <ostream>

#include "cli/args.h"
#include "cli/beast_http_client.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/exit_codes.h"
#include "cli/server_url.h"

namespace zp::cli {

namespace {

constexpr std::chrono::milliseconds kDrainTimeout{120'000};
// The server answers a probe within its probe_request_timeout_seconds (at
// most 3600 s, docs/architecture.md §10.3), 504 then: the CLI waits longer.
constexpr std::chrono::milliseconds kProbeTimeout{(3'600 + 30) * 1'000};

int usageError(std::ostream& err, const std::string& message) {
  err << "error: " << message << "\n";
  return kExitUsage;
}

// The config file the invocation names, else the default one if it exists
// and could still matter (a flag or variable gives not all three settings).
Result<ConfigFile> readConfig(const GlobalOptions& global, const CliEnvironment& env) {
  if (global.config) return loadConfigFile(*global.config, /*must_exist=*/true);
  auto given = [](const std::optional<std::string>& flag, const std::optional<std::string>& var) {
    return flag.has_value() || (var && !var->empty());
  };
  if (given(global.server, env.server) && given(global.token, env.token) &&
      given(global.ca_cert, env.ca_cert)) {
    return ConfigFile{};
  }
  if (auto path = defaultConfigPath(env.xdg_config_home, env.home)) {
    return loadConfigFile(*path, /*must_exist=*/false);
  }
  return ConfigFile{};
}

bool isLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

std::chrono::milliseconds requestTimeout(const Invocation& invocation) {
  auto timeout = invocation.global.http_timeout;
  if (const auto* del = std::get_if<DeleteArgs>(&invocation.command)) {
    // The server answers a delete only after the container had its grace period.
    const std::chrono::seconds grace{del->grace_seconds.value_or(kServerDefaultGraceSeconds)};
    timeout = std::max<std::chrono::milliseconds>(timeout, grace + std::chrono::seconds(30));
  }
  if (const auto* exec = std::get_if<ExecArgs>(&invocation.command)) {
    // The server answers once the command ended or was killed at its timeout.
    timeout =
        std::max<std::chrono::milliseconds>(timeout, exec->timeout + std::chrono::seconds(30));
  }
  if (const auto* nodes = std::get_if<NodesArgs>(&invocation.command);
      nodes && nodes->action == NodesArgs::Action::kDrain) {
    // The server answers a drain once every workload on the node was removed.
    timeout = std::max<std::chrono::milliseconds>(timeout, kDrainTimeout);
  }
  if (const auto* isolation = std::get_if<IsolationArgs>(&invocation.command);
      isolation && isolation->probe) {
    timeout = std::max<std::chrono::milliseconds>(timeout, kProbeTimeout);
  }
  return timeout;
}

int runCli(const std::vector<std::string>& args, const CliEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err) {
  auto parsed = parseArgs(args);
  if (auto* early = std::get_if<EarlyExit>(&parsed)) {
    out << early->out;
    err << early->err;
    return early->code;
  }
  const Invocation& invocation = std::get<Invocation>(parsed);
  const GlobalOptions& global = invocation.global;

  auto file = readConfig(global, env);
  if (!file) return usageError(err, file.error().message);
  const Settings settings = resolveSettings({global.server, global.token, global.ca_cert},
                                            {env.server, env.token, env.ca_cert}, *file);
  if (auto valid = validateSettings(settings); !valid)
    return usageError(err, valid.error().message);
  auto server = parseServerUrl(settings.server);
  if (!server) {
    std::string message = server.error().message;
    if (settings.server_source != "--server") message += " (from " + settings.server_source + ")";
    return usageError(err, message);
  }
  if (server->tls && !settings.ca_cert.empty() && !std::ifstream(settings.ca_cert)) {
    return usageError(err, "cannot read the CA certificate \"" + settings.ca_cert + "\" (from " +
                               settings.ca_cert_source + ")");
  }
  if (!server->tls && !settings.token.empty() && !isLoopbackHost(server->host)) {
    err << "warning: sending the token in clear text to " << server->toString()
        << " (use https://)\n";
  }

  BeastHttpClient http(*server, requestTimeout(invocation), {settings.token, settings.ca_cert});
  ApiClient api(http, server->path_prefix, !settings.token.empty());
  ExecuteContext ctx{api, SystemClock::instance(), Streams{in, out, err}};
  return execute(invocation, ctx);
}

}  // namespace zp::cli
