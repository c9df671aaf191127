// zoneplane-probe's command line.

#include "probe/args.h"

#include <gtest/gtest.h>

#include <vector>

namespace zp::probe {
namespace {

Result<ProbeArgs> parse(std::vector<std::string_view> args) { return parseProbeArgs(args); }

TEST(ProbeArgs, DefaultsWithoutArguments) {
  auto a = parse({});
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->options.connect_targets.empty());
  EXPECT_EQ(a->options.connect_timeout, std::chrono::milliseconds(1000));
  EXPECT_FALSE(a->version);
}

TEST(ProbeArgs, TargetsAndTimeoutInBothSpellings) {
  auto a =
      parse({"--connect", "10.0.0.1:9000", "--connect=[::1]:7700", "--connect-timeout-ms=250"});
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->options.connect_targets, (std::vector<std::string>{"10.0.0.1:9000", "[::1]:7700"}));
  EXPECT_EQ(a->options.connect_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(parse({"--connect-timeout-ms", "5000"})->options.connect_timeout,
            std::chrono::milliseconds(5000));
  EXPECT_TRUE(parse({"--version"})->version);
  EXPECT_TRUE(parse({"--help"})->help);
}

TEST(ProbeArgs, RefusesBadArguments) {
  struct Case {
    std::vector<std::string_view> args;
    std::string_view message_part;
  };
  std::vector<Case> cases{
      {{"--connect"}, "needs a value"},
      {{"--connect", "localhost:80"}, "numeric"},
      {{"--connect", "10.0.0.1:0"}, "port"},
      {{"--connect-timeout-ms", "0"}, "1 to 5000"},
      {{"--connect-timeout-ms", "5001"}, "1 to 5000"},
      {{"--connect-timeout-ms", "1.5"}, "1 to 5000"},
      {{"--connect-timeout-ms", ""}, "1 to 5000"},
      {{"--connect-timeout-ms", "10", "--connect-timeout-ms", "20"}, "twice"},
      {{"--verbose"}, "unknown argument"},
      {{"10.0.0.1:80"}, "unknown argument"},
  };
  for (const auto& c : cases) {
    auto a = parse(c.args);
    ASSERT_FALSE(a.has_value()) << c.args.size();
    EXPECT_EQ(a.error().code, Code::kInvalidArgument);
    EXPECT_NE(a.error().message.find(c.message_part), std::string::npos) << a.error().message;
  }
}

TEST(ProbeArgs, AtMostSixteenTargets) {
  std::vector<std::string> storage;
  for (int i = 0; i < 17; ++i)
    storage.push_back("--connect=10.0.0." + std::to_string(i + 1) + ":80");
  std::vector<std::string_view> args(storage.begin(), storage.end());
  EXPECT_FALSE(parseProbeArgs(args).has_value());
  args.pop_back();
  auto a = parseProbeArgs(args);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->options.connect_targets.size(), kMaxTargets);
}

}  // namespace
}  // namespace zp::probe
