#include "cli/commands.h"

#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>
#include <sstream>

#include "cli/error_body.h"
#include "cli/exit_codes.h"

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

int runGet(ExecuteContext& ctx, OutputFormat format, const GetArgs& args) {
  auto render = [&](const json& j) { return renderWorkload(j, ctx.clock.now()); };
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
        } else if constexpr (std::is_same_v<T, NodesArgs>) {
          return finish(ctx, format, ctx.api.listNodes(), renderNodes);
        } else {
          static_assert(std::is_same_v<T, TrustLevelsArgs>);
          return finish(ctx, format, ctx.api.listTrustLevels(), renderTrustLevels);
        }
      },
      invocation.command);
}

}  // namespace zp::cli
