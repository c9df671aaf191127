// Checking certificates against a CA and a key (tls/pki.h: verifyChain,
// checkCertificateKey).

#include <gtest/gtest.h>

#include "tls/pki.h"

namespace zp::tls {
namespace {

using std::chrono::hours;

struct Issued {
  std::string chain;
  PrivateKey key;
};

class PkiVerifyTest : public ::testing::Test {
 protected:
  static CertificateAuthority makeCa(const char* name) {
    auto ca = CertificateAuthority::create(KeyType::kEcP256, name);
    EXPECT_TRUE(ca) << ca.error().toString();
    if (!ca) std::abort();
    return std::move(*ca);
  }
  static Issued issue(const CertificateAuthority& ca, CertProfile profile) {
    auto key = PrivateKey::generate(KeyType::kEcP256);
    EXPECT_TRUE(key) << key.error().toString();
    if (!key) std::abort();
    auto chain = ca.issue(*key, profile);
    EXPECT_TRUE(chain) << chain.error().toString();
    return {chain.value_or(""), std::move(*key)};
  }

  CertificateAuthority ca_ = makeCa("zoneplane test CA");
  CertificateAuthority other_ = makeCa("another CA");
};

TEST_F(PkiVerifyTest, AChainOfTheCaVerifies) {
  const auto node = issue(ca_, {.identity = Identity::node("node-1")});
  EXPECT_TRUE(verifyChain(node.chain, ca_.certPem()));
  // Several CAs: any of them will do.
  EXPECT_TRUE(verifyChain(node.chain, other_.certPem() + ca_.certPem()));
}

TEST_F(PkiVerifyTest, AnotherCaAnExpiredLeafOrAClientCertificateDoNot) {
  const auto node = issue(ca_, {.identity = Identity::node("node-1")});
  auto foreign = verifyChain(node.chain, other_.certPem());
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, Code::kUnauthenticated);

  CertProfile expired_profile{.identity = Identity::node("node-1")};
  expired_profile.not_before = std::chrono::system_clock::now() - hours(48);
  expired_profile.validity = hours(24);
  const auto expired = issue(ca_, expired_profile);
  auto late = verifyChain(expired.chain, ca_.certPem());
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Code::kUnauthenticated);
  EXPECT_NE(late.error().message.find("expired"), std::string::npos) << late.error().message;

  // clientAuth only: not for a TLS server.
  const auto client = issue(ca_, {.identity = Identity::client("ops")});
  EXPECT_FALSE(verifyChain(client.chain, ca_.certPem()));
}

TEST_F(PkiVerifyTest, TextThatHoldsNoCertificateIsInvalid) {
  const auto node = issue(ca_, {.identity = Identity::node("node-1")});
  EXPECT_EQ(verifyChain("nothing", ca_.certPem()).error().code, Code::kInvalidArgument);
  EXPECT_EQ(verifyChain(node.chain, "").error().code, Code::kInvalidArgument);
}

TEST_F(PkiVerifyTest, CheckCertificateKey) {
  const auto node = issue(ca_, {.identity = Identity::node("node-1")});
  const auto other = issue(ca_, {.identity = Identity::node("node-1")});
  EXPECT_TRUE(checkCertificateKey(node.chain, node.key));
  auto mismatch = checkCertificateKey(node.chain, other.key);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, Code::kInvalidArgument);
  EXPECT_EQ(checkCertificateKey("nothing", node.key).error().code, Code::kInvalidArgument);
}

}  // namespace
}  // namespace zp::tls
