#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <string>

namespace zp::protocol {
namespace {

const char* kStart =
    R"({"type":"StartWorkload","req":"r1","workload":{"id":"wl-1","image":"busybox:1",)"
    R"("runtime_class":"native","memory_mb":64,"cpu_millicores":100}})";

TEST(MessagesTest, DecodesStartWorkload) {
  auto r = decodeRequest(kStart);
  ASSERT_TRUE(r) << r.error().error.toString();
  EXPECT_EQ(r->req, "r1");
  auto* start = std::get_if<StartWorkload>(&r->body);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->workload.id, "wl-1");
  EXPECT_EQ(start->workload.memory_mb, 64);
}

TEST(MessagesTest, RequestsRoundTrip) {
  const Request requests[] = {
      {"a", GetStatus{"wl-1"}},          {std::nullopt, StopWorkload{"wl-2", 3}},
      {"c", RemoveWorkload{"wl-3"}},     {"d", ListWorkloads{}},
      {std::nullopt, NodeInfo{}},
  };
  for (const auto& req : requests) {
    const auto line = encodeRequest(req);
    auto back = decodeRequest(line);
    ASSERT_TRUE(back) << line << ": " << back.error().error.toString();
    EXPECT_EQ(back->req, req.req);
    EXPECT_EQ(back->body.index(), req.body.index());
    EXPECT_EQ(encodeRequest(*back), line);
  }
}

struct BadCase {
  const char* line;
  const char* expect_in_message;
  const char* field;
};

TEST(MessagesTest, RejectsHostileInputWithPreciseErrors) {
  const BadCase cases[] = {
      {"", "malformed JSON", ""},
      {"{", "malformed JSON", ""},
      {"[1,2]", "must be a JSON object", ""},
      {"null", "must be a JSON object", ""},
      {R"({"req":"x"})", "missing required field \"type\"", "type"},
      {R"({"type":7})", "must be a string", "type"},
      {R"({"type":"Launch"})", "unknown message type \"Launch\"", "type"},
      {R"({"type":"GetStatus"})", "missing required field \"id\"", "id"},
      {R"({"type":"GetStatus","id":"../etc"})", "not a valid workload id", "id"},
      {R"({"type":"GetStatus","id":"a","extra":1})", "unknown field \"extra\"", "extra"},
      {R"({"type":"StartWorkload"})", "missing required field \"workload\"", "workload"},
      {R"({"type":"StartWorkload","workload":[]})", "must be a JSON object", "workload"},
      {R"({"type":"StartWorkload","workload":{"id":"a","image":"busybox","runtime_class":"x",)"
       R"("memory_mb":0,"cpu_millicores":100}})",
       "memory_mb must be between", "workload.memory_mb"},
      {R"({"type":"StartWorkload","workload":{"id":"a","bogus":1}})", "unknown field",
       "workload.bogus"},
      {R"({"type":"StopWorkload","id":"a","timeout_seconds":-1})", "timeout_seconds",
       "timeout_seconds"},
      {R"({"type":"ListWorkloads","req":5})", "\"req\" must be a string", "req"},
  };
  for (const auto& c : cases) {
    auto r = decodeRequest(c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_NE(r.error().error.message.find(c.expect_in_message), std::string::npos)
        << c.line << " -> " << r.error().error.message;
    EXPECT_EQ(r.error().error.field, c.field) << c.line;
  }
}

TEST(MessagesTest, BadRequestsKeepCorrelation) {
  auto r = decodeRequest(R"({"type":"GetStatus","req":"q7","id":"wl-9","x":1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().req, "q7");
  EXPECT_EQ(r.error().id, "wl-9");
}

TEST(MessagesTest, RejectsOversizedLine) {
  const std::string line(kMaxLineBytes + 1, ' ');
  auto r = decodeRequest(line);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, Code::kResourceExhausted);
}

TEST(MessagesTest, DeeplyNestedJsonDoesNotCrash) {
  std::string line(100000, '[');
  line += std::string(100000, ']');
  EXPECT_FALSE(decodeRequest(line));
}

TEST(MessagesTest, RepliesRoundTrip) {
  api::WorkloadStatus s;
  s.id = "wl-1";
  s.state = api::WorkloadState::kRunning;
  s.node = "n1";
  const Reply replies[] = {
      {"a", s},
      {"b", WorkloadList{{s, s}}},
      {"c", api::NodeInfo{"n1", {1024, 2000}, {512, 1000}, {"native"}, "0.1.0", 1}},
      {std::nullopt, Removed{"wl-1"}},
      {"e", ErrorReply{Error{Code::kNotFound, "no workload \"wl-1\"", ""}, "wl-1"}},
  };
  for (const auto& reply : replies) {
    const auto line = encodeReply(reply);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto back = decodeReply(line);
    ASSERT_TRUE(back) << line;
    EXPECT_EQ(back->req, reply.req);
    EXPECT_EQ(back->body.index(), reply.body.index());
    EXPECT_EQ(encodeReply(*back), line);
  }
}

TEST(MessagesTest, InvalidUtf8IsReplacedNotThrown) {
  Reply r{std::nullopt, ErrorReply{Error{Code::kInternal, "bad \xff byte", ""}, ""}};
  EXPECT_NO_THROW(encodeReply(r));
}

}  // namespace
}  // namespace zp::protocol
