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
        "r.io/app:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "host:65535/x:1", "host:1/x", "[::1]:5000/app:1"}) {
    EXPECT_TRUE(validateImageReference(good)) << good;
  }
}

TEST(ValidateTest, ParsesImageReferenceParts) {
  auto r = parseImageReference("127.0.0.1:5000/zoneplane/busybox:1.0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->effectiveRegistry(), "127.0.0.1:5000");
  EXPECT_EQ(r->host(), "127.0.0.1");
  EXPECT_EQ(r->repository, "zoneplane/busybox");
  EXPECT_EQ(r->tag, "1.0");
  auto hub = parseImageReference("library/busybox@sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->registry, "");
  EXPECT_EQ(hub->effectiveRegistry(), "docker.io");
  EXPECT_EQ(hub->host(), "docker.io");
  EXPECT_EQ(hub->digest, "sha256:" + std::string(64, 'a'));
  auto v6 = parseImageReference("[::1]:5000/app");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host(), "::1");
  auto port = parseImageReference("host:99999/x:1");
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("1 to 65535"), std::string::npos);
  auto upper = parseImageReference("UPPER/case:1");
  ASSERT_FALSE(upper);
  EXPECT_NE(upper.error().message.find("lowercase"), std::string::npos);
}

TEST(ValidateTest, RuntimeClassMayBeLeftToTheScheduler) {
  auto spec = validSpec();
  spec.runtime_class.clear();
  EXPECT_TRUE(validateWorkloadSpec(spec));
}

TEST(ValidateTest, PayloadIsBounded) {
  auto spec = validSpec();
  // Just under the bound, spread over many env entries, is fine...
  const std::size_t per_value = kMaxStringBytes - 8;
  std::size_t total = 0;
  for (int i = 0; total + per_value + 8 <= kMaxPayloadBytes; ++i) {
    std::string name = "V" + std::to_string(100000 + i);
    total += name.size() + per_value;
    spec.env[name] = std::string(per_value, 'x');
  }
  EXPECT_EQ(payloadBytes(spec), total);
  EXPECT_TRUE(validateWorkloadSpec(spec));
  // ...one more argument past it is not.
  spec.args.push_back(std::string(kMaxPayloadBytes - total + 1, 'a'));
  auto s = validateWorkloadSpec(spec);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "env");
  EXPECT_NE(s.error().message.find(std::to_string(kMaxPayloadBytes)), std::string::npos);
}

TEST(ValidateTest, SecurityProfiles) {
  struct Case {
    Profile profile;
    void (*mutate)(SecuritySpec&);
    const char* field;  // nullptr: valid
  };
  const Case cases[] = {
      {Profile::kRestricted, [](SecuritySpec&) {}, nullptr},
      {Profile::kRestricted, [](SecuritySpec& s) { s.capabilities_add = {"NET_BIND_SERVICE"}; },
       nullptr},
      {Profile::kRestricted, [](SecuritySpec& s) { s.capabilities_add = {"CHOWN"}; },
       "security.capabilities_add[0]"},
      {Profile::kRestricted, [](SecuritySpec& s) { s.run_as_user = 0; }, "security.run_as_user"},
      {Profile::kRestricted, [](SecuritySpec& s) { s.run_as_group = 0; },
       "security.run_as_group"},
      {Profile::kRestricted, [](SecuritySpec& s) { s.run_as_user = 1000; }, nullptr},
      {Profile::kRestricted, [](SecuritySpec& s) { s.run_as_user = -1; }, "security.run_as_user"},
      {Profile::kRestricted, [](SecuritySpec& s) { s.run_as_user = kMaxUserId + 1; },
       "security.run_as_user"},
      {Profile::kBaseline, [](SecuritySpec& s) { s.run_as_user = 0; }, nullptr},
      {Profile::kBaseline, [](SecuritySpec& s) { s.capabilities_add = {"CHOWN", "SETUID"}; },
       nullptr},
      {Profile::kBaseline, [](SecuritySpec& s) { s.capabilities_add = {"NET_RAW"}; },
       "security.capabilities_add[0]"},
      {Profile::kBaseline, [](SecuritySpec& s) { s.capabilities_add = {"KILL", "SYS_ADMIN"}; },
       "security.capabilities_add[1]"},
      {Profile::kBaseline, [](SecuritySpec& s) { s.capabilities_add = {"CAP_CHOWN"}; },
       "security.capabilities_add[0]"},
      {Profile::kBaseline, [](SecuritySpec& s) { s.capabilities_add = {"KILL", "KILL"}; },
       "security.capabilities_add[1]"},
      {Profile::kRestricted, [](SecuritySpec& s) { s.pids_limit = kMinPidsLimit - 1; },
       "security.pids_limit"},
      {Profile::kRestricted, [](SecuritySpec& s) { s.pids_limit = kMaxPidsLimit + 1; },
       "security.pids_limit"},
      {Profile::kRestricted, [](SecuritySpec& s) { s.pids_limit = kMaxPidsLimit; }, nullptr},
  };
  for (const auto& c : cases) {
    auto spec = validSpec();
    spec.security.profile = c.profile;
    c.mutate(spec.security);
    auto s = validateWorkloadSpec(spec);
    if (c.field == nullptr) {
      EXPECT_TRUE(s) << s.error().message;
    } else {
      ASSERT_FALSE(s) << c.field;
      EXPECT_EQ(s.error().field, c.field);
      EXPECT_EQ(s.error().code, Code::kInvalidArgument);
    }
  }
}

TEST(ValidateTest, ProfileOrderAndNames) {
  EXPECT_TRUE(isAtLeast(Profile::kRestricted, Profile::kBaseline));
  EXPECT_TRUE(isAtLeast(Profile::kRestricted, Profile::kRestricted));
  EXPECT_TRUE(isAtLeast(Profile::kBaseline, Profile::kBaseline));
  EXPECT_FALSE(isAtLeast(Profile::kBaseline, Profile::kRestricted));
  for (auto p : {Profile::kRestricted, Profile::kBaseline}) EXPECT_EQ(parseProfile(profileName(p)), p);
  for (auto t : kAllTrustLevels) EXPECT_EQ(parseTrust(trustName(t)), t);
  EXPECT_FALSE(parseTrust("trusted"));
  EXPECT_FALSE(parseProfile("privileged"));
}

TEST(ValidateTest, RejectsBadImageReferences) {
  for (const char* bad :
       {"", "Busybox", "busybox:", ":tag", "a//b", "-a", "a-", "a/b:tag with space",
        "busybox@sha256:short", "busybox@sha256:XYZ", "ex ample/app", "r.io:port/app",
        "a/b:.tag", "a\n/b", "host:99999/x:1", "host:0/x:1", "host:65536/x", "UPPER/case:1",
        "Registry.io/app", "r.io/UPPER/app", "-r.io/app", "r.io:/app", "[zz]/app",
        "127.0.0.1:05000/a:1", "r.io:0443/a"}) {
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
      {[](WorkloadSpec& s) { s.runtime_class = "Bad"; }, "runtime_class"},
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
