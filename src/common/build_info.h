#pragma once
// What the binaries say about their build: `--version` of zoneplane,
// zoneplane-server, zoneplane-agent and zoneplane-probe.
//
// buildCommit() is defined in a source generated at build time
// (cmake/build_info.cmake, library zp_build_info); versionText() is inline so
// that the statically linked probe needs only that one generated file.

#include <string>
#include <string_view>

#include "common/version.h"

namespace zp {

// The git commit the binary was built from (12 hex digits), or "" when the
// build did not know it (no git, no ZP_GIT_COMMIT).
const char* buildCommit();

// "PROGRAM VERSION", then a second line "commit COMMIT" when the commit is
// known; no final newline (CLI11's version flag adds one). The first line
// alone is what scripts compare (scripts/stack reads the probe's).
inline std::string versionText(std::string_view program) {
  std::string text = std::string(program) + " " + kVersion;
  if (const std::string_view commit = buildCommit(); !commit.empty()) {
    text += "\ncommit " + std::string(commit);
  }
  return text;
}

}  // namespace zp
