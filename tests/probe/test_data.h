#pragma once
// Recorded /proc text and reports under tests/probe/data (see its README).

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace zp::probe::testing {

// The content of data/NAME; throws (failing the test) when it is missing.
inline std::string testData(const std::string& name) {
  std::ifstream in(std::string(ZP_PROBE_TEST_DATA) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data " + name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace zp::probe::testing
