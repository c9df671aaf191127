#pragma once
// Inputs the CLI tests build: argument lists parsed as the CLI parses them,
// and times written as RFC 3339.

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "cli/args.h"
#include "common/time.h"

namespace zp::cli::testing {

// The invocation `args` parse to; a parse that ends early is a test failure
// (and gives an empty invocation).
inline Invocation parseOk(const std::vector<std::string>& args) {
  auto parsed = parseArgs(args);
  if (auto* early = std::get_if<EarlyExit>(&parsed)) {
    ADD_FAILURE() << "parse failed (" << early->code << "): " << early->err;
    return {};
  }
  return std::get<Invocation>(parsed);
}

// The time `rfc3339` names; it must be valid.
inline TimePoint at(const char* rfc3339) { return *parseRfc3339(rfc3339); }

}  // namespace zp::cli::testing
