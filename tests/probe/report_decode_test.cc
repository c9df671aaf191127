// The decoder refuses what a well-behaved probe never writes: the report is
// untrusted input from a workload's container.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "probe/report_json.h"
#include "sample_report.h"

namespace zp::probe {
namespace {

using nlohmann::json;

json sample() { return json::parse(encodeReport(testing::fullReport())); }

// Decodes `j`; expects a refusal naming `field`.
void expectRefused(const json& j, const std::string& field, const std::string& message_part = "") {
  auto decoded = decodeReport(j.dump());
  ASSERT_FALSE(decoded.has_value()) << "accepted; expected a refusal of " << field;
  EXPECT_EQ(decoded.error().code, Code::kInvalidArgument);
  EXPECT_EQ(decoded.error().field, field) << decoded.error().message;
  if (!message_part.empty()) {
    EXPECT_NE(decoded.error().message.find(message_part), std::string::npos)
        << decoded.error().message;
  }
}

TEST(ReportDecode, RefusesOversizeDocuments) {
  std::string big = encodeReport(testing::fullReport());
  big.insert(big.size() - 1, ",\"padding\":\"" + std::string(kMaxReportBytes, 'x') + "\"");
  auto decoded = decodeReport(big);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, Code::kResourceExhausted);
}

// `sample()` padded with an unknown member to exactly `size` bytes.
std::string paddedTo(std::size_t size) {
  std::string text = sample().dump();
  const std::string member = ",\"padding\":\"\"";
  text.insert(text.size() - 1, member);
  text.insert(text.size() - 2, std::string(size - text.size(), 'x'));
  return text;
}

TEST(ReportDecode, TheBoundIsTheLineWithItsNewline) {
  std::string line = paddedTo(kMaxReportBytes - 1) + "\n";
  ASSERT_EQ(line.size(), kMaxReportBytes);
  auto decoded = decodeReport(line);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().toString();
  EXPECT_EQ(decoded->probe_version, testing::fullReport().probe_version);
  EXPECT_TRUE(decodeReport(paddedTo(kMaxReportBytes)).has_value());

  auto over = decodeReport(paddedTo(kMaxReportBytes) + "\n");
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, Code::kResourceExhausted);
  EXPECT_FALSE(decodeReport(paddedTo(kMaxReportBytes + 1)).has_value());
}

TEST(ReportDecode, RefusesMalformedJsonAndNonObjects) {
  for (const char* text : {"", "{", "not json", "[]", "42", "null", "{\"format\":1}}"}) {
    auto decoded = decodeReport(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code, Code::kInvalidArgument) << text;
  }
  std::string duplicate = sample().dump();
  duplicate.insert(1, "\"format\":1,");
  EXPECT_FALSE(decodeReport(duplicate).has_value());
}

TEST(ReportDecode, RefusesOtherFormats) {
  json j = sample();
  j["format"] = 2;
  expectRefused(j, "format", "format 2");
  // Not narrowed to int first: 2^32 + 1 would read as 1.
  j["format"] = 4294967297ll;
  expectRefused(j, "format", "format 4294967297");
  j["format"] = -4294967295ll;
  expectRefused(j, "format", "format -4294967295");
  j["format"] = 18446744073709551615ull;
  expectRefused(j, "format");
  j["format"] = "1";
  expectRefused(j, "format", "integer");
  j.erase("format");
  expectRefused(j, "format", "missing");
}

TEST(ReportDecode, WrongTypesNameTheField) {
  struct Case {
    json::json_pointer pointer;
    json value;
    std::string field;
  };
  std::vector<Case> cases{
      {json::json_pointer("/probe_version"), 1, "probe_version"},
      {json::json_pointer("/kernel"), "x", "kernel"},
      {json::json_pointer("/kernel/boot_id"), 5, "kernel.boot_id"},
      {json::json_pointer("/kernel/release"), nullptr, "kernel.release"},
      {json::json_pointer("/kernel/hypervisor_signs"), "x", "kernel.hypervisor_signs"},
      {json::json_pointer("/kernel/application_kernel_signs/0"), 1,
       "kernel.application_kernel_signs[0]"},
      {json::json_pointer("/process/uid"), "0", "process.uid"},
      {json::json_pointer("/process/uid"), 1.5, "process.uid"},
      {json::json_pointer("/process/uid"), -2, "process.uid"},
      {json::json_pointer("/process/pid"), 18446744073709551615ull, "process.pid"},
      {json::json_pointer("/process/groups/1"), "10", "process.groups[1]"},
      {json::json_pointer("/process/cap_effective"), -1, "process.cap_effective"},
      {json::json_pointer("/process/cap_effective"), "0xff", "process.cap_effective"},
      {json::json_pointer("/process/seccomp"), 3, "process.seccomp"},
      {json::json_pointer("/process/no_new_privs"), 1, "process.no_new_privs"},
      {json::json_pointer("/pids/visible_processes"), -1, "pids.visible_processes"},
      {json::json_pointer("/namespaces"), json::array(), "namespaces"},
      {json::json_pointer("/namespaces/pid"), 4026531836, "namespaces.pid"},
      {json::json_pointer("/writable/sys_writable"), "false", "writable.sys_writable"},
      {json::json_pointer("/writable/sys_mount_ro"), 0, "writable.sys_mount_ro"},
      {json::json_pointer("/masked_paths/0"), "x", "masked_paths[0]"},
      {json::json_pointer("/masked_paths/0/state"), "hidden", "masked_paths[0].state"},
      {json::json_pointer("/devices/1/type"), "x", "devices[1].type"},
      {json::json_pointer("/devices/1/major"), 4294967296, "devices[1].major"},
      {json::json_pointer("/runtime_sockets"), json::object(), "runtime_sockets"},
      {json::json_pointer("/mounts/1/options"), json::array(), "mounts[1].options"},
      {json::json_pointer("/cgroup/version"), 3, "cgroup.version"},
      {json::json_pointer("/network/host_network_stack"), "yes", "network.host_network_stack"},
      {json::json_pointer("/connects/0/elapsed_ms"), -5, "connects[0].elapsed_ms"},
      {json::json_pointer("/unreadable"), nullptr, "unreadable"},
  };
  for (const auto& c : cases) {
    json j = sample();
    j[c.pointer] = c.value;
    SCOPED_TRACE(c.field);
    expectRefused(j, c.field);
  }
}

TEST(ReportDecode, MissingFieldsNameTheField) {
  for (const char* pointer :
       {"/kernel/sysname", "/process/cap_ambient", "/pids/pid1_comm", "/writable/proc_sys_writable",
        "/network/interfaces", "/devices", "/mounts/0/source", "/unreadable"}) {
    json j = sample();
    json::json_pointer p(pointer);
    j[p.parent_pointer()].erase(p.back());
    std::string field = std::string(pointer).substr(1);
    for (char& c : field) {
      if (c == '/') c = '.';
    }
    if (field == "mounts.0.source") field = "mounts[0].source";
    SCOPED_TRACE(pointer);
    expectRefused(j, field, "missing");
  }
}

TEST(ReportDecode, RefusesOverLongListsAndStrings) {
  json j = sample();
  j["mounts"] = json::array();
  for (std::size_t i = 0; i <= kMaxMounts; ++i) {
    j["mounts"].push_back(
        json{{"mount_point", "/m"}, {"fs_type", "t"}, {"source", "s"}, {"options", "o"}});
  }
  expectRefused(j, "mounts", "more than 256");

  j = sample();
  j["connects"] = json::array();
  for (std::size_t i = 0; i <= kMaxTargets; ++i) {
    j["connects"].push_back(
        json{{"target", "1.2.3.4:5"}, {"result", "timeout"}, {"elapsed_ms", 1}});
  }
  expectRefused(j, "connects");

  j = sample();
  j["process"]["groups"] = json::array();
  for (std::size_t i = 0; i <= kMaxGroups; ++i) j["process"]["groups"].push_back(i);
  expectRefused(j, "process.groups");

  j = sample();
  j["unreadable"] = json::array();
  for (std::size_t i = 0; i <= kMaxUnreadable; ++i) j["unreadable"].push_back("x");
  expectRefused(j, "unreadable");

  j = sample();
  j["devices"][0]["path"] = std::string(kMaxTextBytes + 1, 'd');
  expectRefused(j, "devices[0].path", "longer than 4096");

  j = sample();
  j["probe_version"] = std::string(65, 'v');
  expectRefused(j, "probe_version");

  j = sample();
  for (int i = 0; i < 20; ++i) j["namespaces"]["ns" + std::to_string(i)] = "x";
  expectRefused(j, "namespaces", "entries");
}

TEST(ReportDecode, IgnoresUnknownKeys) {
  json j = sample();
  j["future_field"] = {{"a", 1}};
  j["kernel"]["future"] = true;
  EXPECT_TRUE(decodeReport(j.dump()).has_value());
}

}  // namespace
}  // namespace zp::probe
