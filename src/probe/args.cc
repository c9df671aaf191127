#include "probe/args.h"

#include <charconv>

#include "probe/connect.h"

namespace zp::probe {
namespace {

// "--name=value" -> value; "--name" -> the next argument.
Result<std::string_view> optionValue(std::span<const std::string_view> args, std::size_t& i,
                                     std::string_view name) {
  std::string_view arg = args[i];
  if (arg.size() > name.size() && arg[name.size()] == '=') return arg.substr(name.size() + 1);
  if (i + 1 >= args.size()) {
    return fail(Code::kInvalidArgument, std::string(name) + " needs a value", std::string(name));
  }
  return args[++i];
}

bool isOption(std::string_view arg, std::string_view name) {
  return arg == name ||
         (arg.starts_with(name) && arg.size() > name.size() && arg[name.size()] == '=');
}

}  // namespace

std::string_view probeUsage() {
  return "usage: zoneplane-probe [--connect HOST:PORT]... [--connect-timeout-ms N]\n"
         "       zoneplane-probe --version\n"
         "Prints one JSON report of what this process can see of its isolation.\n"
         "  --connect HOST:PORT      try a TCP connect (numeric IPv4, or [IPv6]; at most 16)\n"
         "  --connect-timeout-ms N   per connect, 1-5000 (default 1000)\n"
         "The agent runs it as the image of every runtime class (docs/architecture.md\n"
         "section 10); on a host it reports the host's view.\n"
         "EXAMPLES:\n"
         "  zoneplane-probe\n"
         "  zoneplane-probe --connect 10.0.0.10:7443 --connect [fd00::1]:9000\n";
}

Result<ProbeArgs> parseProbeArgs(std::span<const std::string_view> args) {
  ProbeArgs out;
  bool timeout_seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--version") {
      out.version = true;
    } else if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (isOption(arg, "--connect-timeout-ms")) {
      auto value = optionValue(args, i, "--connect-timeout-ms");
      if (!value) return fail(value.error());
      if (timeout_seen) {
        return fail(Code::kInvalidArgument, "--connect-timeout-ms given twice",
                    "--connect-timeout-ms");
      }
      timeout_seen = true;
      int ms = 0;
      auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), ms);
      if (value->empty() || ec != std::errc{} || end != value->data() + value->size() ||
          ms < kMinConnectTimeoutMs || ms > kMaxConnectTimeoutMs) {
        return fail(Code::kInvalidArgument,
                    "--connect-timeout-ms must be a whole number from 1 to 5000, got \"" +
                        std::string(value->substr(0, 32)) + "\"",
                    "--connect-timeout-ms");
      }
      out.options.connect_timeout = std::chrono::milliseconds(ms);
    } else if (isOption(arg, "--connect")) {
      auto value = optionValue(args, i, "--connect");
      if (!value) return fail(value.error());
      if (out.options.connect_targets.size() >= kMaxTargets) {
        return fail(Code::kInvalidArgument,
                    "at most " + std::to_string(kMaxTargets) + " --connect targets", "--connect");
      }
      std::string why;
      if (!parseConnectTarget(*value, &why)) {
        return fail(Code::kInvalidArgument,
                    "--connect \"" + std::string(value->substr(0, 64)) + "\": " + why, "--connect");
      }
      out.options.connect_targets.emplace_back(*value);
    } else {
      return fail(Code::kInvalidArgument,
                  "unknown argument \"" + std::string(arg.substr(0, 64)) + "\"", std::string{});
    }
  }
  return out;
}

}  // namespace zp::probe
