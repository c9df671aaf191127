#include "api/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace zp::api {
namespace {

WorkloadSpec validSpec() {
  WorkloadSpec s;
  s.id = "wl-123";
  s.image = "ghcr.io/example/secure-app:1.0";
  s.runtime_class = "edera-zone";
  s.memory_mb = 512;
  s.cpu_millicores = 500;
  return s;
}

TEST(ValidateTest, Dns1123Labels) {
  for (const char* good : {"a", "wl-123", "0abc", "a-b-c"}) {
    EXPECT_TRUE(isDns1123Label(good)) << good;
  }
  EXPECT_TRUE(isDns1123Label(std::string(63, 'a')));
  for (const char* bad : {"", "-a", "a-", "A", "wl_1", "wl.1", "wl 1", "é"}) {
    EXPECT_FALSE(isDns1123Label(bad)) << bad;
  }
  EXPECT_FALSE(isDns1123Label(std::string(64, 'a')));
}

TEST(ValidateTest, AcceptsImageReferences) {
  for (const char* good :
       {"busybox", "library/busybox:latest", "ghcr.io/example/secure-app:1.0",
        "127.0.0.1:5000/zoneplane/busybox:1.0", "localhost/app", "registry.example.com:443/a/b/c",
        "a__b/c-d.e:TAG_1.2-x",
        "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "r.io/app:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}) {
    EXPECT_TRUE(validateImageReference(good)) << good;
  }
}

TEST(ValidateTest, RejectsBadImageReferences) {
  for (const char* bad :
       {"", "Busybox", "busybox:", ":tag", "a//b", "-a", "a-", "a/b:tag with space",
        "busybox@sha256:short", "busybox@sha256:XYZ", "ex ample/app", "r.io:port/app",
        "a/b:.tag", "a\n/b"}) {
    auto s = validateImageReference(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().field, "image");
  }
  EXPECT_FALSE(validateImageReference(std::string(256, 'a')));
  EXPECT_FALSE(validateImageReference("a:" + std::string(129, 't')));
  EXPECT_FALSE(validateImageReference(std::string(1 << 20, 'a')));
}

TEST(ValidateTest, AcceptsValidSpec) { EXPECT_TRUE(validateWorkloadSpec(validSpec())); }

TEST(ValidateTest, NamesTheFieldAtFault) {
  struct Case {
    void (*mutate)(WorkloadSpec&);
    const char* field;
  };
  const Case cases[] = {
      {[](WorkloadSpec& s) { s.id = ""; }, "id"},
      {[](WorkloadSpec& s) { s.id = "Bad_Id"; }, "id"},
      {[](WorkloadSpec& s) { s.image = "UPPER"; }, "image"},
      {[](WorkloadSpec& s) { s.runtime_class = ""; }, "runtime_class"},
      {[](WorkloadSpec& s) { s.memory_mb = 0; }, "memory_mb"},
      {[](WorkloadSpec& s) { s.memory_mb = -5; }, "memory_mb"},
      {[](WorkloadSpec& s) { s.memory_mb = kMaxMemoryMb + 1; }, "memory_mb"},
      {[](WorkloadSpec& s) { s.cpu_millicores = 1; }, "cpu_millicores"},
      {[](WorkloadSpec& s) { s.cpu_millicores = kMaxCpuMillicores + 1; }, "cpu_millicores"},
      {[](WorkloadSpec& s) { s.command.assign(kMaxListItems + 1, "x"); }, "command"},
      {[](WorkloadSpec& s) { s.args = {std::string("a\0b", 3)}; }, "args[0]"},
      {[](WorkloadSpec& s) { s.env["1BAD"] = "x"; }, "env.1BAD"},
      {[](WorkloadSpec& s) { s.env["OK"] = std::string(kMaxStringBytes + 1, 'v'); }, "env.OK"},
  };
  for (const auto& c : cases) {
    auto spec = validSpec();
    c.mutate(spec);
    auto s = validateWorkloadSpec(spec);
    ASSERT_FALSE(s) << c.field;
    EXPECT_EQ(s.error().field, c.field);
    EXPECT_EQ(s.error().code, Code::kInvalidArgument);
    EXPECT_FALSE(s.error().message.empty());
  }
}

}  // namespace
}  // namespace zp::api
