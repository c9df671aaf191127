#include "cli/commands.h"

#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>
#include <sstream>

#include "cli/error_body.h"
#include "cli/exit_codes.h"
#include "cli/render_access.h"
#include "cli/render_isolation.h"
#include "cli/table.h"

namespace zp::cli {
namespace {

using nlohmann::json;

// Workload files are small; refuse anything absurd rather than buffer it.
constexpr std::size_t kMaxWorkloadFileBytes = 4 * 1024 * 1024;

int report(const Error& error, std::ostream& err, int code) {
  err << formatError(error) << "\n";
  return code;
}

// Local input errors name the flag or file in their message already.
int reportUsage(const Error& error, std::ostream& err) {
  err << "error: " << error.message << "\n";
  return kExitUsage;
}

// Prints a successful reply: as JSON, or through the table renderer.
template <typename Render>
int printReply(const ExecuteContext& ctx, OutputFormat format, const json& reply, Render render) {
  if (format == OutputFormat::kJson) {
    ctx.io.out << renderJson(reply);
    return kExitOk;
  }
  Result<std::string> text = render(reply);
  if (!text) return report(text.error(), ctx.io.err, kExitRequestError);
  ctx.io.out << *text;
  return kExitOk;
}

// The result of a request: printed on success, reported as exit 1 on failure.
template <typename Render>
int finish(const ExecuteContext& ctx, OutputFormat format, const Result<json>& reply,
           Render render) {
  if (!reply) return report(reply.error(), ctx.io.err, kExitRequestError);
  return printReply(ctx, format, *reply, render);
}

int create(ExecuteContext& ctx, OutputFormat format, const json& body) {
  return finish(ctx, format, ctx.api.createWorkload(body), renderCreated);
}

// `get --watch`: a row (or a JSON line) per event until the stream ends.
int runWatch(ExecuteContext& ctx, OutputFormat format, const GetArgs& args) {
  bool header = false;
  auto watched = ctx.api.watchWorkloads(args.filters, args.id, [&](const WatchEventView& event) {
    if (format == OutputFormat::kJson) {
      ctx.io.out << json{{"type", event.type}, {"workload", event.workload}}.dump(
                        -1, ' ', false, json::error_handler_t::replace)
                 << "\n";
    } else {
      if (!header) ctx.io.out << renderWatchHeader();
      header = true;
      ctx.io.out << renderWatchRow(event, ctx.clock.now());
    }
    ctx.io.out.flush();
    return true;
  });
  if (!watched) return report(watched.error(), ctx.io.err, kExitRequestError);
  return kExitOk;
}

// `logs`: the lines as they come, as the container wrote them.
int runLogs(ExecuteContext& ctx, const LogsArgs& args) {
  auto streamed = ctx.api.streamLogs(args, [&](std::string_view line) {
    ctx.io.out << line << '\n';
    ctx.io.out.flush();
    return true;
  });
  if (!streamed) return report(streamed.error(), ctx.io.err, kExitRequestError);
  return kExitOk;
}

int runNodes(ExecuteContext& ctx, OutputFormat format, const NodesArgs& args) {
  auto render = [&](const json& j) { return renderNode(j, ctx.clock.now()); };
  switch (args.action) {
    case NodesArgs::Action::kList:
      return finish(ctx, format, ctx.api.listNodes(),
                    [&](const json& j) { return renderNodes(j, ctx.clock.now()); });
    case NodesArgs::Action::kAdd:
      return finish(ctx, format, ctx.api.addNode(args.id, args.address), render);
    case NodesArgs::Action::kRemove:
      return finish(ctx, format, ctx.api.removeNode(args.id, args.force),
                    [&](const json&) -> Result<std::string> {
                      return "node \"" + sanitize(args.id) + "\" removed\n";
                    });
    case NodesArgs::Action::kCordon:
      return finish(ctx, format, ctx.api.nodeAction(args.id, "cordon"), render);
    case NodesArgs::Action::kUncordon:
      return finish(ctx, format, ctx.api.nodeAction(args.id, "uncordon"), render);
    case NodesArgs::Action::kDrain:
      return finish(ctx, format, ctx.api.nodeAction(args.id, "drain"), render);
  }
  return kExitUsage;
}

// `isolation NODE`: the node's verification, probed first with --probe.
int runIsolation(ExecuteContext& ctx, OutputFormat format, const IsolationArgs& args) {
  auto render = [&](const json& j) { return renderNodeIsolation(j, args.runtime_class); };
  if (args.probe) {
    return finish(ctx, format, ctx.api.probeNode(args.node, args.runtime_class.value_or("")),
                  render);
  }
  return finish(ctx, format, ctx.api.nodeIsolation(args.node), render);
}

int runTokens(ExecuteContext& ctx, OutputFormat format, const TokensArgs& args) {
  switch (args.action) {
    case TokensArgs::Action::kList:
      return finish(ctx, format, ctx.api.listTokens(),
                    [&](const json& j) { return renderTokens(j, ctx.clock.now()); });
    case TokensArgs::Action::kCreate:
      return finish(ctx, format, ctx.api.createToken(args.create), renderTokenCreated);
    case TokensArgs::Action::kRevoke:
      return finish(
          ctx, format, ctx.api.revokeToken(args.name),
          [&](const json&) -> Result<std::string> { return renderTokenRevoked(args.name); });
  }
  return kExitUsage;
}

int runGet(ExecuteContext& ctx, OutputFormat format, const GetArgs& args) {
  auto render = [&](const json& j) { return renderWorkload(j, ctx.clock.now()); };
  if (args.watch) return runWatch(ctx, format, args);
  if (!args.wait) return finish(ctx, format, ctx.api.getWorkload(args.id), render);
  WaitOptions options{*args.wait, args.wait_timeout, ctx.poll_interval};
  auto waited = waitForState(ctx.api, args.id, options);
  if (!waited) return report(waited.error(), ctx.io.err, kExitRequestError);
  if (waited->outcome != WaitOutcome::kReached) {
    return report(Error{Code::kFailedPrecondition, waited->message, {}}, ctx.io.err,
                  kExitWaitFailed);
  }
  return printReply(ctx, format, waited->workload, render);
}

std::string stripJsonExceptionPrefix(std::string what) {
  // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at ..."
  if (what.starts_with("[json.exception.")) {
    if (auto close = what.find("] "); close != std::string::npos) what.erase(0, close + 2);
  }
  return what;
}

}  // namespace

Result<json> readWorkloadFile(const std::string& path, std::istream& in) {
  const std::string name = path == "-" ? "stdin" : "\"" + path + "\"";
  std::ifstream file;
  std::istream* source = &in;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return fail(Code::kInvalidArgument, "cannot open " + name, "file");
    source = &file;
  }
  std::string text;
  char buffer[64 * 1024];
  while (source->read(buffer, sizeof buffer) || source->gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(source->gcount()));
    if (text.size() > kMaxWorkloadFileBytes) {
      return fail(Code::kInvalidArgument,
                  name + " is larger than " + std::to_string(kMaxWorkloadFileBytes >> 20) + " MiB",
                  "file");
    }
  }
  if (source->bad()) return fail(Code::kInvalidArgument, "cannot read " + name, "file");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    return fail(Code::kInvalidArgument,
                name + " is not valid JSON: " + stripJsonExceptionPrefix(e.what()), "file");
  }
  if (!j.is_object()) {
    return fail(Code::kInvalidArgument, name + " must hold one JSON object (a WorkloadSpec)",
                "file");
  }
  return j;
}

int execute(const Invocation& invocation, ExecuteContext& ctx) {
  const OutputFormat format = invocation.global.output;
  return std::visit(
      [&](const auto& args) -> int {
        using T = std::decay_t<decltype(args)>;
        if constexpr (std::is_same_v<T, RunArgs>) {
          auto body = buildRunBody(args);
          if (!body) return reportUsage(body.error(), ctx.io.err);
          return create(ctx, format, *body);
        } else if constexpr (std::is_same_v<T, ApplyArgs>) {
          auto body = readWorkloadFile(args.file, ctx.io.in);
          if (!body) return reportUsage(body.error(), ctx.io.err);
          return create(ctx, format, *body);
        } else if constexpr (std::is_same_v<T, GetArgs>) {
          return runGet(ctx, format, args);
        } else if constexpr (std::is_same_v<T, ListFilters>) {
          auto render = [&](const json& j) { return renderWorkloadList(j, ctx.clock.now()); };
          return finish(ctx, format, ctx.api.listWorkloads(args), render);
        } else if constexpr (std::is_same_v<T, DeleteArgs>) {
          return finish(ctx, format, ctx.api.deleteWorkload(args.id, args.grace_seconds), renderDeleted);
        } else if constexpr (std::is_same_v<T, LogsArgs>) {
          return runLogs(ctx, args);
        } else if constexpr (std::is_same_v<T, NodesArgs>) {
          return runNodes(ctx, format, args);
        } else if constexpr (std::is_same_v<T, IsolationArgs>) {
          return runIsolation(ctx, format, args);
        } else if constexpr (std::is_same_v<T, TrustLevelsArgs>) {
          return finish(ctx, format, ctx.api.listTrustLevels(), renderTrustLevels);
        } else if constexpr (std::is_same_v<T, TokensArgs>) {
          return runTokens(ctx, format, args);
        } else if constexpr (std::is_same_v<T, ExecArgs>) {
          return runExec(ctx.api, args, format == OutputFormat::kJson, ctx.io.out, ctx.io.err);
        } else {
          static_assert(std::is_same_v<T, AuditQuery>);
          return finish(ctx, format, ctx.api.listAudit(args), renderAudit);
        }
      },
      invocation.command);
}

}  // namespace zp::cli
