#include "server/image_policy.h"

#include <gtest/gtest.h>

namespace zp::server {
namespace {

api::ImageReference ref(std::string_view image) {
  auto parsed = api::parseImageReference(image);
  EXPECT_TRUE(parsed) << image << ": " << parsed.error().toString();
  return parsed ? *parsed : api::ImageReference{};
}

ImagePolicy policy(const std::vector<std::string>& patterns) {
  auto created = ImagePolicy::create(patterns);
  EXPECT_TRUE(created) << created.error().toString();
  return created ? *created : ImagePolicy{};
}

// The case the issue reproduced: an image reference pointing containerd at
// the agent's own port on the node.
TEST(ImagePolicyTest, DefaultRefusesTheNodesOwnLoopbackPort) {
  const ImagePolicy defaults;
  auto refused = defaults.check(ref("127.0.0.1:9000/a/b:1"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  EXPECT_EQ(refused.error().field, "image");
  EXPECT_NE(refused.error().message.find("\"127.0.0.1:9000\""), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("loopback"), std::string::npos) << refused.error().message;
}

TEST(ImagePolicyTest, DefaultRefusesEveryLocalSpelling) {
  const ImagePolicy defaults;
  for (const char* image :
       {"localhost/app:1", "localhost:5000/app:1", "registry.localhost/app:1", "127.0.0.1/app:1",
        "127.255.0.9:5000/app:1",                                  // loopback
        "169.254.169.254/latest/meta-data:1", "169.254.1.1:80/x",  // link-local
        "0.0.0.0:5000/app:1", "0.1.2.3/app:1",                     // unspecified
        "[::1]:5000/app:1", "[::]/app:1", "[fe80::1]:5000/app:1", "[febf::1]/app:1",
        "[::ffff:127.0.0.1]:5000/app:1", "[::ffff:169.254.0.1]/app:1", "127.1:5000/app:1",
        "2130706433:5000/app:1", "0x7f000001:5000/app:1"}) {
    auto checked = defaults.check(ref(image));
    EXPECT_FALSE(checked) << image;
    if (!checked) {
      EXPECT_EQ(checked.error().field, "image") << image;
    }
  }
}

TEST(ImagePolicyTest, DefaultAllowsOtherRegistries) {
  const ImagePolicy defaults;
  EXPECT_TRUE(defaults.isDefault());
  for (const char* image :
       {"busybox:1.36", "library/busybox", "ghcr.io/org/app:1", "registry.example.com:5000/x",
        "10.0.0.5:5000/app:1", "192.168.1.2/app", "[fd00::1]:5000/app:1", "[fec0::1]/app",
        "localhost.example.com/app", "my-localhost.example/app", "128.0.0.1/app"}) {
    EXPECT_TRUE(defaults.check(ref(image))) << image;
  }
}

TEST(ImagePolicyTest, LocalRegistryKinds) {
  EXPECT_EQ(localRegistryKind("127.0.0.1"), "a loopback address");
  EXPECT_EQ(localRegistryKind("::1"), "a loopback address");
  EXPECT_EQ(localRegistryKind("169.254.169.254"), "a link-local address");
  EXPECT_EQ(localRegistryKind("fe80::abcd"), "a link-local address");
  EXPECT_EQ(localRegistryKind("0.0.0.0"), "an unspecified address");
  EXPECT_EQ(localRegistryKind("::"), "an unspecified address");
  EXPECT_EQ(localRegistryKind("localhost"), "the local host name");
  for (const char* name : {"localhost.localdomain", "ip6-localhost", "ip6-loopback", "a.localhost"}) {
    EXPECT_EQ(localRegistryKind(name), "the local host name") << name;
  }
  EXPECT_EQ(localRegistryKind("255.255.255.255"), "a multicast or broadcast address");
  EXPECT_EQ(localRegistryKind("224.0.0.1"), "a multicast or broadcast address");
  EXPECT_EQ(localRegistryKind("ff02::1"), "a multicast address");
  EXPECT_EQ(localRegistryKind("registry.example.com"), std::nullopt);
  EXPECT_EQ(localRegistryKind("10.1.2.3"), std::nullopt);
  EXPECT_EQ(localRegistryKind("2001:db8::1"), std::nullopt);
}

TEST(ImagePolicyTest, ExactHostAndPortPatterns) {
  const auto p = policy({"127.0.0.1:5000", "registry.example.com"});
  EXPECT_FALSE(p.isDefault());
  EXPECT_TRUE(p.check(ref("127.0.0.1:5000/zoneplane/busybox:1.0")));
  EXPECT_FALSE(p.check(ref("127.0.0.1:5001/zoneplane/busybox:1.0")));
  EXPECT_FALSE(p.check(ref("127.0.0.1/zoneplane/busybox:1.0")));
  EXPECT_TRUE(p.check(ref("registry.example.com/app:1")));
  // A pattern without a port allows the registry's default port only.
  EXPECT_FALSE(p.check(ref("registry.example.com:8443/app:1")));
  EXPECT_FALSE(p.check(ref("other.example.com/app:1")));
  // No registry in the reference means docker.io, which is not listed.
  auto hub = p.check(ref("busybox:1.36"));
  ASSERT_FALSE(hub);
  EXPECT_NE(hub.error().message.find("\"docker.io\""), std::string::npos) << hub.error().message;
  EXPECT_NE(hub.error().message.find("127.0.0.1:5000, registry.example.com"), std::string::npos)
      << hub.error().message;
  EXPECT_TRUE(policy({"docker.io"}).check(ref("busybox:1.36")));
}

TEST(ImagePolicyTest, WildcardPatterns) {
  const auto p = policy({"*.example.com", "ports.example.org:*", "[fd00::1]:5000"});
  EXPECT_TRUE(p.check(ref("registry.example.com/app")));
  EXPECT_TRUE(p.check(ref("a.b.example.com/app")));
  EXPECT_FALSE(p.check(ref("example.com/app")));                // not below itself
  EXPECT_FALSE(p.check(ref("badexample.com/app")));             // a suffix is not a subdomain
  EXPECT_FALSE(p.check(ref("registry.example.com:5000/app")));  // no port in the pattern
  EXPECT_TRUE(p.check(ref("ports.example.org/app")));
  EXPECT_TRUE(p.check(ref("ports.example.org:1234/app")));
  EXPECT_TRUE(p.check(ref("[fd00::1]:5000/app")));
  EXPECT_TRUE(p.check(ref("[fd00:0:0::1]:5000/app")));  // another spelling of the address
  EXPECT_FALSE(p.check(ref("[fd00::2]:5000/app")));
  EXPECT_TRUE(policy({"*.example.com:*"}).check(ref("r.example.com:9/app")));
  // "*" allows everything, local registries included: an explicit choice.
  EXPECT_TRUE(policy({"*"}).check(ref("127.0.0.1:9000/a/b:1")));
}

TEST(ImagePolicyTest, BadPatternsAreConfigErrors) {
  EXPECT_FALSE(ImagePolicy::create({}));
  for (const char* bad : {"", "Registry.Example.com", "host:0", "host:65536", "host:x", "::1",
                          "[::1", "[nothex]:5000", "*.[::1]", "a*.example.com", "*:5000",
                          "https://registry.example.com", "host/path", "-bad.example.com"}) {
    auto parsed = parseRegistryPattern(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().field, "allowed_registries") << bad;
    }
    EXPECT_FALSE(ImagePolicy::create({"ok.example.com", bad})) << bad;
  }
}

}  // namespace
}  // namespace zp::server
