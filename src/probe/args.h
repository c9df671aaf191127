#pragma once
// zoneplane-probe's command line (docs/architecture.md §10.1):
//   zoneplane-probe [--connect HOST:PORT]... [--connect-timeout-ms N] | --version | --help

#include <span>
#include <string_view>

#include "common/status.h"
#include "probe/collect.h"

namespace zp::probe {

struct ProbeArgs {
  CollectOptions options;  // targets validated (numeric HOST:PORT), at most kMaxTargets
  bool version = false;
  bool help = false;
};

inline constexpr int kMinConnectTimeoutMs = 1;
inline constexpr int kMaxConnectTimeoutMs = 5000;

// The arguments after the program name. kInvalidArgument with a message for
// the user (and the option in `field`) when they are wrong.
Result<ProbeArgs> parseProbeArgs(std::span<const std::string_view> args);

// The usage text, ending in a newline.
std::string_view probeUsage();

}  // namespace zp::probe
