// --version and --help of every program (common/build_info.h): the version
// line scripts compare, the commit line when the build knew it, and a help
// text with a description and EXAMPLES.

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "common/version.h"
#include "support/run_program.h"

namespace zp {
namespace {

using testsupport::runProgram;

struct Program {
  const char* name;
  const char* path;
};

const std::vector<Program>& programs() {
  static const std::vector<Program> all = {{"zoneplane", ZP_CLI_BINARY},
                                           {"zoneplane-server", ZP_SERVER_BINARY},
                                           {"zoneplane-agent", ZP_AGENT_BINARY},
                                           {"zoneplane-probe", ZP_PROBE_BINARY}};
  return all;
}

TEST(Programs, VersionNamesTheProgramTheVersionAndTheCommit) {
  for (const auto& program : programs()) {
    auto run = runProgram({program.path, "--version"});
    EXPECT_EQ(run.exit_code, 0) << program.name << ": " << run.err;
    // "NAME VERSION", then "commit HEX" when the build knew its commit.
    const std::regex expected(std::string(program.name) + " " + kVersion +
                              "\n(commit [0-9a-f]{7,40}\n)?");
    EXPECT_TRUE(std::regex_match(run.out, expected)) << program.name << ": " << run.out;
  }
}

TEST(Programs, HelpHasADescriptionAndExamples) {
  for (const auto& program : programs()) {
    auto run = runProgram({program.path, "--help"});
    EXPECT_EQ(run.exit_code, 0) << program.name << ": " << run.err;
    const auto examples = run.out.find("\nEXAMPLES:\n");
    ASSERT_NE(examples, std::string::npos) << program.name << ":\n" << run.out;
    EXPECT_NE(run.out.find(std::string(" ") + program.name, examples), std::string::npos)
        << program.name << ": no example command line\n"
        << run.out;
    EXPECT_NE(run.out.find(std::string("sage: ") + program.name + " "), std::string::npos)
        << program.name << ": the usage names the program by its name, not its path\n"
        << run.out;
    EXPECT_GT(run.out.find('\n'), 20u) << program.name << ": no description line";
  }
}

}  // namespace
}  // namespace zp
