// ExecSync / ExecResult codec and the output cap (docs/architecture.md §3).

#include <gtest/gtest.h>

#include "protocol/exec_output.h"
#include "protocol/messages.h"

namespace zp::protocol {
namespace {

ExecSync sample() {
  ExecSync m;
  m.workload_id = "web";
  m.uid = "u-1";
  m.command = {"sh", "-c", "echo \"hi\"\n"};
  m.timeout_ms = 1500;
  m.max_output_bytes = 1024;
  return m;
}

TEST(ExecMessages, RequestRoundTrips) {
  const std::string line = encodeRequest({"r-9", sample()});
  auto decoded = decodeRequest(line);
  ASSERT_TRUE(decoded) << decoded.error().error.toString();
  EXPECT_EQ(decoded->req, "r-9");
  auto* m = std::get_if<ExecSync>(&decoded->body);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->workload_id, "web");
  EXPECT_EQ(m->uid, "u-1");
  EXPECT_EQ(m->command, sample().command);
  EXPECT_EQ(m->timeout_ms, 1500);
  EXPECT_EQ(m->max_output_bytes, 1024);
  EXPECT_EQ(typeName(decoded->body), "ExecSync");
}

TEST(ExecMessages, DefaultsApply) {
  auto decoded = decodeRequest(R"({"type":"ExecSync","workload_id":"web","command":["id"]})");
  ASSERT_TRUE(decoded) << decoded.error().error.toString();
  const auto& m = std::get<ExecSync>(decoded->body);
  EXPECT_EQ(m.uid, "");
  EXPECT_EQ(m.timeout_ms, kDefaultExecTimeoutMs);
  EXPECT_EQ(m.max_output_bytes, kMaxExecOutputBytes);
}

TEST(ExecMessages, BadRequestsAreRefusedNamingTheField) {
  const std::string big(kMaxExecArgBytes + 1, 'a');
  std::string many = R"({"type":"ExecSync","workload_id":"web","command":[)";
  for (std::size_t i = 0; i <= kMaxExecArgs; ++i) many += std::string(i ? "," : "") + "\"a\"";
  many += "]}";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type":"ExecSync","command":["id"]})", "workload_id"},
      {R"({"type":"ExecSync","workload_id":"Not_A_Label","command":["id"]})", "workload_id"},
      {R"({"type":"ExecSync","workload_id":"web"})", "command"},
      {R"({"type":"ExecSync","workload_id":"web","command":[]})", "command"},
      {R"({"type":"ExecSync","workload_id":"web","command":"id"})", "command"},
      {R"({"type":"ExecSync","workload_id":"web","command":[""]})", "command[0]"},
      {R"({"type":"ExecSync","workload_id":"web","command":["id","a\u0000"]})", "command[1]"},
      {R"({"type":"ExecSync","workload_id":"web","command":[")" + big + R"("]})", "command[0]"},
      {many, "command"},
      {R"({"type":"ExecSync","workload_id":"web","command":["id"],"timeout_ms":0})", "timeout_ms"},
      {R"({"type":"ExecSync","workload_id":"web","command":["id"],"timeout_ms":300001})",
       "timeout_ms"},
      {R"({"type":"ExecSync","workload_id":"web","command":["id"],"max_output_bytes":65537})",
       "max_output_bytes"},
      {R"({"type":"ExecSync","workload_id":"web","command":["id"],"uid":"UP"})", "uid"},
      {R"({"type":"ExecSync","workload_id":"web","command":["id"],"tty":true})", "tty"},
  };
  for (const auto& [line, field] : cases) {
    auto decoded = decodeRequest(line);
    ASSERT_FALSE(decoded) << line;
    EXPECT_EQ(decoded.error().error.code, Code::kInvalidArgument) << line;
    EXPECT_EQ(decoded.error().error.field, field) << line;
  }
}

TEST(ExecMessages, ResultRoundTripsAndFitsALine) {
  ExecResult r{-1, std::string(kMaxExecOutputBytes, '\x01'), std::string(kMaxExecOutputBytes, '"'),
               true, false};
  const std::string line = encodeReply({"r-1", r});
  EXPECT_LT(line.size(), kMaxLineBytes);
  auto decoded = decodeReply(line);
  ASSERT_TRUE(decoded) << decoded.error().toString();
  auto* got = std::get_if<ExecResult>(&decoded->body);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->exit_code, -1);
  EXPECT_EQ(got->stdout_text, r.stdout_text);
  EXPECT_EQ(got->stderr_text, r.stderr_text);
  EXPECT_TRUE(got->stdout_truncated);
  EXPECT_FALSE(got->stderr_truncated);
}

TEST(ExecMessages, BadResultsAreInternalErrors) {
  for (const char* line :
       {R"({"type":"ExecResult","req":"r"})", R"({"type":"ExecResult","exit_code":"0"})",
        R"({"type":"ExecResult","exit_code":0,"stdout":1})",
        R"({"type":"ExecResult","exit_code":0,"stdout_truncated":"yes"})",
        R"({"type":"ExecResult","exit_code":99999999999})"}) {
    auto decoded = decodeReply(line);
    ASSERT_FALSE(decoded) << line;
    EXPECT_EQ(decoded.error().code, Code::kInternal) << line;
  }
}

TEST(ExecOutput, ValidUtf8PassesUnchanged) {
  const std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\n";
  auto out = capUtf8(text, 100);
  EXPECT_EQ(out.text, text);
  EXPECT_FALSE(out.truncated);
}

TEST(ExecOutput, InvalidBytesBecomeReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(capUtf8("a\xFF"
                    "b",
                    100)
                .text,
            "a" + r + "b");
  EXPECT_EQ(capUtf8("\xC0\xAF", 100).text, r + r);                  // overlong '/'
  EXPECT_EQ(capUtf8("\xED\xA0\x80", 100).text, r + r + r);          // a surrogate
  EXPECT_EQ(capUtf8("\xF4\x90\x80\x80", 100).text, r + r + r + r);  // past U+10FFFF
  EXPECT_EQ(capUtf8("x\xE2\x82", 100).text, "x" + r + r);           // cut short
  EXPECT_EQ(capUtf8(std::string("a\0b", 3), 100).text, std::string("a\0b", 3));
}

TEST(ExecOutput, CutsAtTheCapOnACharacterBoundary) {
  auto exact = capUtf8("abcd", 4);
  EXPECT_EQ(exact.text, "abcd");
  EXPECT_FALSE(exact.truncated);
  auto cut = capUtf8("abcde", 4);
  EXPECT_EQ(cut.text, "abcd");
  EXPECT_TRUE(cut.truncated);
  auto wide = capUtf8("ab\xE2\x82\xAC", 4);  // the euro sign would end at byte 5
  EXPECT_EQ(wide.text, "ab");
  EXPECT_TRUE(wide.truncated);
  auto replaced = capUtf8("ab\xFF\xFF", 5);  // each replacement takes 3 bytes
  EXPECT_EQ(replaced.text, "ab\xEF\xBF\xBD");
  EXPECT_TRUE(replaced.truncated);
  EXPECT_TRUE(capUtf8("x", 0).truncated);
  EXPECT_FALSE(capUtf8("", 0).truncated);
}

TEST(ExecOutput, ReadsOnlyWhatTheCapNeeds) {
  const std::string huge(16 << 20, 'z');
  auto out = capUtf8(huge, 64 * 1024);
  EXPECT_EQ(out.text.size(), 64u * 1024);
  EXPECT_TRUE(out.truncated);
}

}  // namespace
}  // namespace zp::protocol
