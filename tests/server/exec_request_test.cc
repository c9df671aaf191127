// The exec route's body and answer (server/http/exec_request.h).

#include "server/http/exec_request.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

TEST(ExecRequest, DecodesCommandAndTimeout) {
  auto body = decodeExecBody(R"({"command":["sh","-c","echo hi"],"timeout_seconds":30})");
  ASSERT_TRUE(body) << body.error().toString();
  EXPECT_EQ(body->command, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  EXPECT_EQ(body->timeout, std::chrono::seconds(30));
  auto defaults = decodeExecBody(R"({"command":["id"]})");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->timeout, std::chrono::seconds(kDefaultExecTimeoutSeconds));
}

TEST(ExecRequest, RefusesADuplicateKey) {
  EXPECT_FALSE(decodeExecBody(R"({"command":["id"],"command":["ls"]})"));
}

TEST(ExecRequest, QuotesTheCommandForTheAudit) {
  EXPECT_EQ(quotedCommand({"sh", "-c", "echo 'hi' there"}), R"(sh -c 'echo '\''hi'\'' there')");
  EXPECT_EQ(quotedCommand({"cat", "/etc/os-release"}), "cat /etc/os-release");
  EXPECT_EQ(quotedCommand({"printf", "a\nb"}), "printf 'a?b'");
  const std::string cut = quotedCommand({std::string(500, 'x')}, 20);
  EXPECT_EQ(cut, std::string(20, 'x') + "\xE2\x80\xA6");
  // Never cuts a character in two.
  const std::string wide = quotedCommand({"\xC3\xA9\xC3\xA9\xC3\xA9"}, 4);
  EXPECT_EQ(wide, "'\xC3\xA9\xE2\x80\xA6");
}

}  // namespace
}  // namespace zp::server
