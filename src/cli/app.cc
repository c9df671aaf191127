#include "cli/app.h"

#include <istream>
#include <ostream>

#include "cli/args.h"
#include "cli/beast_http_client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/server_url.h"

namespace zp::cli {

namespace {
constexpr std::chrono::milliseconds kDrainTimeout{120'000};
}  // namespace

int runCli(const std::vector<std::string>& args, const CliEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err) {
  auto parsed = parseArgs(args);
  if (auto* early = std::get_if<EarlyExit>(&parsed)) {
    out << early->out;
    err << early->err;
    return early->code;
  }
  const Invocation& invocation = std::get<Invocation>(parsed);

  auto server = parseServerUrl(chooseServerUrl(invocation.global.server, env.server));
  if (!server) {
    err << "error: " << server.error().message << "\n";
    return kExitUsage;
  }
  auto timeout = invocation.global.http_timeout;
  if (const auto* del = std::get_if<DeleteArgs>(&invocation.command)) {
    // The server answers a delete only after the container had its grace period.
    const std::chrono::seconds grace{del->grace_seconds.value_or(kServerDefaultGraceSeconds)};
    timeout = std::max<std::chrono::milliseconds>(timeout, grace + std::chrono::seconds(30));
  }
  if (const auto* nodes = std::get_if<NodesArgs>(&invocation.command);
      nodes && nodes->action == NodesArgs::Action::kDrain) {
    // The server answers a drain once every workload on the node was removed.
    timeout = std::max<std::chrono::milliseconds>(timeout, kDrainTimeout);
  }
  BeastHttpClient http(*server, timeout);
  ApiClient api(http, server->path_prefix);
  ExecuteContext ctx{api, SystemClock::instance(), Streams{in, out, err}};
  return execute(invocation, ctx);
}

}  // namespace zp::cli
