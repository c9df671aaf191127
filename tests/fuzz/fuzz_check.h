#pragma once
// Invariant checks for the fuzz targets: a broken invariant prints what broke
// and aborts, so libFuzzer records the input as a crash (a finding), exactly
// as it does for a sanitizer report.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace zp::fuzz {

[[noreturn]] inline void invariantBroken(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n  %.*s\n", what,
               static_cast<int>(detail.size() > 2000 ? 2000 : detail.size()), detail.data());
  std::abort();
}

inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) invariantBroken(what, detail);
}

}  // namespace zp::fuzz
