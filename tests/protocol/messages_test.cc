#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <string>

#include "api/validate.h"

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
      {"a", GetStatus{"wl-1"}},
      {std::nullopt, StopWorkload{"wl-2", 3}},
      {"c", RemoveWorkload{"wl-3"}},
      {"d", ListWorkloads{}},
      {std::nullopt, NodeInfo{}},
      {"e", Logs{"wl-4", 10, true, false}},
      {"f", Logs{"wl-5", std::nullopt, false, true, "stderr"}},
      {"g", Logs{"wl-6", 5, true, false, std::nullopt, "u-6"}},
      {"h",
       Logs{"wl-7", std::nullopt, true, false, std::nullopt, "u-7", true, LogPosition{2, 4096, 3}}},
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

TEST(MessagesTest, DecodesLogsWithAStream) {
  auto r = decodeRequest(R"({"type":"Logs","id":"wl-1","tail":2,"stream":"stdout"})");
  ASSERT_TRUE(r) << r.error().error.toString();
  const auto* logs = std::get_if<Logs>(&r->body);
  ASSERT_NE(logs, nullptr);
  EXPECT_EQ(logs->tail, 2);
  EXPECT_EQ(logs->stream, "stdout");
  EXPECT_FALSE(logs->follow);
  // Without a stream: both streams; the encoding leaves the field out.
  auto both = decodeRequest(R"({"type":"Logs","id":"wl-1"})");
  ASSERT_TRUE(both) << both.error().error.toString();
  EXPECT_EQ(std::get<Logs>(both->body).stream, std::nullopt);
  EXPECT_EQ(encodeRequest(*both).find("stream"), std::string::npos);
  const std::string encoded = encodeRequest({"r", Logs{"wl-1", 2, false, false, "stderr"}});
  EXPECT_NE(encoded.find(R"("stream":"stderr")"), std::string::npos) << encoded;
  EXPECT_EQ(encoded.find("uid"), std::string::npos) << encoded;  // any copy
  auto of_uid = decodeRequest(R"({"type":"Logs","id":"wl-1","uid":"u-1"})");
  ASSERT_TRUE(of_uid) << of_uid.error().error.toString();
  EXPECT_EQ(std::get<Logs>(of_uid->body).uid, "u-1");
}

TEST(MessagesTest, LogsTakesUpAFollowAtAMark) {
  auto r = decodeRequest(R"({"type":"Logs","id":"wl-1","follow":true,"marks":true,)"
                         R"("from":{"attempt":1,"offset":123456789012,"skip":7}})");
  ASSERT_TRUE(r) << r.error().error.toString();
  const auto& logs = std::get<Logs>(r->body);
  EXPECT_TRUE(logs.marks);
  ASSERT_TRUE(logs.from.has_value());
  EXPECT_EQ(logs.from->attempt, 1);
  EXPECT_EQ(logs.from->offset, 123456789012);
  EXPECT_EQ(logs.from->skip, 7);
  // Left out, each part of the position is 0; neither is sent unless set.
  auto start = decodeRequest(R"({"type":"Logs","id":"wl-1","from":{}})");
  ASSERT_TRUE(start) << start.error().error.toString();
  EXPECT_EQ(std::get<Logs>(start->body).from->offset, 0);
  const auto plain = encodeRequest({"r", Logs{"wl-1", 2, false, false}});
  EXPECT_EQ(plain.find("marks"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("from"), std::string::npos) << plain;

  // The agent's LogMark reply.
  const auto line = encodeReply({"r", LogMark{3, 65536}});
  auto back = decodeReply(line);
  ASSERT_TRUE(back) << back.error().toString();
  const auto* mark = std::get_if<LogMark>(&back->body);
  ASSERT_NE(mark, nullptr) << line;
  EXPECT_EQ(mark->attempt, 3);
  EXPECT_EQ(mark->offset, 65536);
  EXPECT_FALSE(decodeReply(R"({"type":"LogMark","attempt":0,"offset":-1})"));
  EXPECT_FALSE(decodeReply(R"({"type":"LogMark","attempt":0})"));
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
      {R"({"type":"Logs","id":"a","stream":"both"})", "stream must be \"stdout\" or \"stderr\"",
       "stream"},
      {R"({"type":"Logs","id":"a","stream":""})", "stream must be", "stream"},
      {R"({"type":"Logs","id":"a","stream":"STDOUT"})", "stream must be", "stream"},
      {R"({"type":"Logs","id":"a","stream":1})", "must be a string", "stream"},
      {R"({"type":"Logs","id":"a","uid":"U!"})", "uid must be", "uid"},
      {R"({"type":"Logs","id":"a","tail":-1})", "tail must be between", "tail"},
      {R"({"type":"Logs","id":"a","tail":1,"from":{}})", "from and tail", "from"},
      {R"({"type":"Logs","id":"a","from":{"offset":-1}})", "offset must be between", "from.offset"},
      {R"({"type":"Logs","id":"a","from":{"skip":9007199254740992}})", "skip must be between",
       "from.skip"},
      {R"({"type":"Logs","id":"a","from":{"attempt":"1"}})", "must be", "from.attempt"},
      {R"({"type":"Logs","id":"a","from":{"line":1}})", "unknown field", "from.line"},
      {R"({"type":"Logs","id":"a","from":[]})", "must be a JSON object", "from"},
      {R"({"type":"Logs","id":"a","marks":1})", "must be true or false", "marks"},
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

// Every spec the API accepts must fit one protocol line (else the server could
// never deliver it): a spec at every limit, whose payload bytes each need the
// longest JSON escape ("\u0001", six bytes), encodes under kMaxLineBytes.
TEST(MessagesTest, ASpecAtEveryLimitFitsOneStartWorkloadLine) {
  api::WorkloadSpec spec;
  spec.id = std::string(api::kMaxIdLength, 'a');
  // The longest valid reference: a 255-character name, a 128-character tag and a digest.
  const std::string registry = "registry.example:65535/";
  spec.image = registry + std::string(api::kMaxImageNameLength - registry.size(), 'a') + ":" +
               std::string(128, 't') + "@sha256:" + std::string(64, 'f');
  spec.runtime_class = std::string(api::kMaxIdLength, 'c');
  spec.memory_mb = api::kMaxMemoryMb;
  spec.cpu_millicores = api::kMaxCpuMillicores;
  spec.trust = api::TrustLevel::kMultiTenant;
  spec.security.profile = api::Profile::kBaseline;
  for (auto cap : api::kBaselineCapabilities) spec.security.capabilities_add.emplace_back(cap);
  spec.security.read_only_root_fs = true;
  spec.security.run_as_user = api::kMaxUserId;
  spec.security.run_as_group = api::kMaxUserId;
  spec.security.pids_limit = api::kMaxPidsLimit;

  // The most entries allowed everywhere; env names are the shortest unique
  // ones (names cannot need escapes), every other payload byte is \x01.
  for (std::size_t i = 0; i < api::kMaxEnvEntries; ++i) spec.env["E" + std::to_string(i)] = "";
  std::size_t names = 0;
  for (const auto& [name, value] : spec.env) names += name.size();
  const std::size_t strings = api::kMaxListItems * 2 + api::kMaxEnvEntries;
  const std::size_t budget = api::kMaxPayloadBytes - names;
  std::size_t given = 0;
  auto next = [&](std::size_t k) {
    const std::size_t n = budget / strings + (k < budget % strings ? 1 : 0);
    given += n;
    return std::string(n, '\x01');
  };
  std::size_t k = 0;
  for (std::size_t i = 0; i < api::kMaxListItems; ++i) spec.command.push_back(next(k++));
  for (std::size_t i = 0; i < api::kMaxListItems; ++i) spec.args.push_back(next(k++));
  for (auto& [name, value] : spec.env) value = next(k++);
  ASSERT_EQ(given, budget);
  ASSERT_EQ(api::payloadBytes(spec), api::kMaxPayloadBytes);
  ASSERT_TRUE(api::validateWorkloadSpec(spec)) << api::validateWorkloadSpec(spec).error().message;

  const Request request{std::string(kMaxReqLength, 'r'), StartWorkload{spec}};
  const std::string line = encodeRequest(request);
  RecordProperty("line_bytes", static_cast<int>(line.size()));
  EXPECT_LT(line.size(), kMaxLineBytes) << "a valid spec does not fit the agent protocol";
  // Each payload byte really was escaped (six bytes each).
  EXPECT_GE(line.size(), budget * 6);
  auto back = decodeRequest(line);
  ASSERT_TRUE(back) << back.error().error.toString();
  const auto* start = std::get_if<StartWorkload>(&back->body);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->workload, spec);
}

}  // namespace
}  // namespace zp::protocol
