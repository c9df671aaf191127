// The cluster PKI (tls/pki.h): identities, keys, the CA, issued certificates
// checked with libcrypto directly (chain verification, EKU, SANs). Files:
// pki_files_test.cc; CSRs: csr_test.cc.

#include "tls/pki.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>

#include "tls/x509_check.h"

namespace zp::tls {
namespace {

using std::chrono::hours;
using x509check::parseChain;
using x509check::verifyLeaf;

class PkiTest : public ::testing::TestWithParam<KeyType> {};

CertificateAuthority makeCa(KeyType type = KeyType::kEcP256) {
  auto ca = CertificateAuthority::create(type, "zoneplane test CA");
  if (!ca) {
    ADD_FAILURE() << ca.error().toString();
    std::abort();
  }
  return std::move(*ca);
}

PrivateKey makeKey(KeyType type = KeyType::kEcP256) {
  auto key = PrivateKey::generate(type);
  if (!key) {
    ADD_FAILURE() << key.error().toString();
    std::abort();
  }
  return std::move(*key);
}

TEST(IdentityTest, UriDescribeAndBack) {
  for (const Identity& identity :
       {Identity::server(), Identity::node("node-1"), Identity::client("ci-bot")}) {
    auto parsed = Identity::fromUri(identity.uri());
    ASSERT_TRUE(parsed) << parsed.error().toString();
    EXPECT_EQ(*parsed, identity);
  }
  EXPECT_EQ(Identity::server().uri(), "spiffe://zoneplane/server");
  EXPECT_EQ(Identity::node("n1").uri(), "spiffe://zoneplane/node/n1");
  EXPECT_EQ(Identity::client("ops").describe(), "client/ops");
  EXPECT_EQ(Identity::node("n1").describe(), "node/n1");
  EXPECT_EQ(Identity::server().describe(), "server");
}

TEST(IdentityTest, FromUriRefusesEverythingElse) {
  for (std::string_view uri :
       {"", "spiffe://zoneplane/", "spiffe://zoneplane/node/", "spiffe://zoneplane/node/Node1",
        "spiffe://zoneplane/node/a/b", "spiffe://zoneplane/node/-a", "spiffe://other/node/a",
        "spiffe://zoneplane/server/x", "spiffe://zoneplane/admin/a", "https://zoneplane/server",
        "spiffe://zoneplane/client/a_b"}) {
    auto parsed = Identity::fromUri(uri);
    ASSERT_FALSE(parsed) << uri;
    EXPECT_EQ(parsed.error().code, Code::kInvalidArgument);
  }
  EXPECT_TRUE(Identity::fromUri("spiffe://zoneplane/node/" + std::string(63, 'a')));
  EXPECT_FALSE(Identity::fromUri("spiffe://zoneplane/node/" + std::string(64, 'a')));
}

TEST(IdentityTest, Validate) {
  EXPECT_TRUE(validateIdentity(Identity::server()));
  EXPECT_TRUE(validateIdentity(Identity::node("a-1")));
  EXPECT_FALSE(validateIdentity(Identity::node("")));
  EXPECT_FALSE(validateIdentity(Identity::client("UPPER")));
  EXPECT_FALSE(validateIdentity(Identity{Identity::Kind::kServer, "x"}));
}

TEST(KeyTypeTest, NamesRoundTrip) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEd25519}) {
    EXPECT_EQ(parseKeyType(keyTypeName(type)), type);
  }
  EXPECT_EQ(keyTypeName(KeyType::kEcP256), "ec-p256");
  EXPECT_EQ(keyTypeName(KeyType::kEd25519), "ed25519");
  EXPECT_FALSE(parseKeyType("rsa"));
}

TEST_P(PkiTest, KeyPemRoundTrip) {
  PrivateKey key = makeKey(GetParam());
  EXPECT_EQ(key.type(), GetParam());
  const std::string pem = key.pem();
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << "PKCS#8";
  auto again = PrivateKey::fromPem(pem);
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(again->type(), GetParam());
  EXPECT_EQ(EVP_PKEY_eq(key.get(), again->get()), 1);
  EXPECT_EQ(again->pem(), pem);
}

TEST(KeyTest, GarbageAndUnsupportedKeysAreRefused) {
  for (std::string_view pem : {std::string_view(""), std::string_view("garbage"),
                               std::string_view("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END "
                                                "PRIVATE KEY-----\n")}) {
    auto key = PrivateKey::fromPem(pem);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code, Code::kInvalidArgument);
  }
  EXPECT_EQ(ERR_peek_error(), 0UL) << "the error queue is left clean";

  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  ASSERT_NE(p384, nullptr);
  BIO* plain = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(plain, p384, nullptr, nullptr, 0, nullptr, nullptr);
  auto refused = PrivateKey::fromPem(x509check::bioString(plain));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("P-256"), std::string::npos) << refused.error().message;

  // An encrypted key is refused without asking for a passphrase.
  BIO* encrypted = BIO_new(BIO_s_mem());
  static char passphrase[] = "secret";
  PrivateKey ec = makeKey();
  PEM_write_bio_PKCS8PrivateKey(encrypted, ec.get(), EVP_aes_128_cbc(), nullptr, 0, nullptr,
                                passphrase);
  const std::string encrypted_pem = x509check::bioString(encrypted);
  EXPECT_TRUE(encrypted_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_FALSE(PrivateKey::fromPem(encrypted_pem));
  BIO_free(encrypted);
  BIO_free(plain);
  EVP_PKEY_free(p384);
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST_P(PkiTest, CaIsSelfSignedCaAndReloads) {
  CertificateAuthority ca = makeCa(GetParam());
  auto info = inspectCertificate(ca.certPem());
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_TRUE(info->is_ca);
  EXPECT_FALSE(info->identity);
  EXPECT_EQ(info->subject, "CN = zoneplane test CA, O = zoneplane");
  EXPECT_EQ(info->fingerprint, ca.fingerprint());
  EXPECT_GT(info->not_after - info->not_before, hours(24 * 3649));
  EXPECT_EQ(verifyLeaf(ca.certPem(), ca.certPem(), X509_PURPOSE_ANY), X509_V_OK);

  auto chain = parseChain(ca.certPem());
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(X509_get_key_usage(chain[0].get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(chain[0].get()), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(chain[0].get()), nullptr);
  EXPECT_EQ(X509_get_version(chain[0].get()), X509_VERSION_3);
}

TEST(CaTest, FromPemChecksCertificateAndKey) {
  CertificateAuthority ca = makeCa();
  PrivateKey other = makeKey();
  auto mismatched = CertificateAuthority::fromPem(ca.certPem(), other.pem());
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("does not belong"), std::string::npos);

  auto leaf = ca.issue(other, CertProfile{.identity = Identity::node("n1")});
  ASSERT_TRUE(leaf);
  auto not_ca = CertificateAuthority::fromPem(*leaf, other.pem());
  ASSERT_FALSE(not_ca);
  EXPECT_NE(not_ca.error().message.find("not a CA"), std::string::npos);

  EXPECT_FALSE(CertificateAuthority::fromPem("garbage", other.pem()));
  EXPECT_FALSE(CertificateAuthority::create(KeyType::kEcP256, ""));
  EXPECT_FALSE(CertificateAuthority::create(KeyType::kEcP256, std::string(65, 'c')));
  EXPECT_FALSE(CertificateAuthority::create(KeyType::kEcP256, "ca", std::chrono::seconds(0)));
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST_P(PkiTest, IssuedNodeCertificateVerifiesAndSaysWhoItIs) {
  CertificateAuthority ca = makeCa(GetParam());
  PrivateKey key = makeKey(GetParam());
  CertProfile profile{.identity = Identity::node("node-1"),
                      .dns_names = {"node-1.example.com", "NODE-1.example.com"},
                      .ip_addresses = {"10.0.0.7", "fd00::7", "10.0.0.7"}};
  auto chain = ca.issue(key, profile);
  ASSERT_TRUE(chain) << chain.error().toString();

  auto certificates = parseChain(*chain);
  ASSERT_EQ(certificates.size(), 2u) << "leaf then CA";
  EXPECT_TRUE(chain->ends_with(ca.certPem()));
  EXPECT_EQ(verifyLeaf(ca.certPem(), *chain, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(verifyLeaf(ca.certPem(), *chain, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  X509* leaf = certificates[0].get();
  EXPECT_EQ(X509_check_private_key(leaf, key.get()), 1);
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(leaf), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_get_version(leaf), X509_VERSION_3);

  auto info = inspectCertificate(*chain);
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_EQ(info->identity, Identity::node("node-1"));
  // Only the names asked for: a node's id is its URI SAN, not a DNS name.
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"node-1.example.com"}));
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"10.0.0.7", "fd00::7"}));
  EXPECT_EQ(info->subject, "CN = node/node-1, O = zoneplane");
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->not_after - info->not_before, kDefaultLeafValidity + std::chrono::minutes(5));
  const auto now = std::chrono::system_clock::now();
  EXPECT_LT(info->not_before, now - std::chrono::minutes(4));
  EXPECT_GT(info->not_before, now - std::chrono::minutes(6));
}

TEST(IssueTest, ClientAndServerUsages) {
  CertificateAuthority ca = makeCa();
  PrivateKey key = makeKey();
  auto client = ca.issue(key, CertProfile{.identity = Identity::client("ci")});
  ASSERT_TRUE(client);
  auto certificates = parseChain(*client);
  EXPECT_EQ(X509_get_extended_key_usage(certificates[0].get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(verifyLeaf(ca.certPem(), *client, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_NE(verifyLeaf(ca.certPem(), *client, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_TRUE(inspectCertificate(*client)->dns_names.empty());

  auto server = ca.issue(key, CertProfile{.identity = Identity::server(),
                                          .dns_names = {"localhost"},
                                          .ip_addresses = {"127.0.0.1", "::1"}});
  ASSERT_TRUE(server);
  auto info = inspectCertificate(*server);
  EXPECT_EQ(info->identity, Identity::server());
  EXPECT_EQ(info->dns_names, std::vector<std::string>{"localhost"});
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(verifyLeaf(ca.certPem(), *server, X509_PURPOSE_SSL_SERVER), X509_V_OK);
}

TEST(IssueTest, MixedKeyTypes) {
  CertificateAuthority ed_ca = makeCa(KeyType::kEd25519);
  CertificateAuthority ec_ca = makeCa(KeyType::kEcP256);
  auto ec_leaf = ed_ca.issue(makeKey(KeyType::kEcP256), CertProfile{.identity = Identity::node("a")});
  auto ed_leaf = ec_ca.issue(makeKey(KeyType::kEd25519), CertProfile{.identity = Identity::node("a")});
  ASSERT_TRUE(ec_leaf && ed_leaf);
  EXPECT_EQ(verifyLeaf(ed_ca.certPem(), *ec_leaf, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(verifyLeaf(ec_ca.certPem(), *ed_leaf, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(verifyLeaf(ec_ca.certPem(), *ec_leaf, X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << "another CA's leaf";
}

TEST(IssueTest, SerialsAreRandom) {
  CertificateAuthority ca = makeCa();
  PrivateKey key = makeKey();
  auto a = ca.issue(key, CertProfile{.identity = Identity::node("a")});
  auto b = ca.issue(key, CertProfile{.identity = Identity::node("a")});
  ASSERT_TRUE(a && b);
  auto chain_a = parseChain(*a);
  auto chain_b = parseChain(*b);
  const ASN1_INTEGER* serial_a = X509_get0_serialNumber(chain_a[0].get());
  EXPECT_NE(ASN1_INTEGER_cmp(serial_a, X509_get0_serialNumber(chain_b[0].get())), 0);
  EXPECT_GE(ASN1_STRING_length(serial_a), 14) << "about 128 random bits";
}

TEST(IssueTest, ExplicitNotBeforeMakesAnExpiredCertificate) {
  CertificateAuthority ca = makeCa();
  const auto now = std::chrono::system_clock::now();
  CertProfile profile{.identity = Identity::node("old"), .validity = hours(24)};
  profile.not_before = now - hours(48);
  auto expired = ca.issue(makeKey(), profile);
  ASSERT_TRUE(expired) << expired.error().toString();
  EXPECT_EQ(verifyLeaf(ca.certPem(), *expired, X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_CERT_HAS_EXPIRED);
  auto info = inspectCertificate(*expired);
  EXPECT_LT(info->not_after, now - hours(23));
}

TEST(IssueTest, LeafNeverOutlivesTheCa) {
  auto ca = CertificateAuthority::create(KeyType::kEcP256, "short CA", hours(24));
  ASSERT_TRUE(ca);
  auto leaf = ca->issue(makeKey(), CertProfile{.identity = Identity::node("a")});
  ASSERT_TRUE(leaf);
  EXPECT_EQ(inspectCertificate(*leaf)->not_after, inspectCertificate(ca->certPem())->not_after);
  EXPECT_EQ(verifyLeaf(ca->certPem(), *leaf, X509_PURPOSE_SSL_SERVER), X509_V_OK);
}

TEST(IssueTest, BadProfilesAreRefused) {
  CertificateAuthority ca = makeCa();
  PrivateKey key = makeKey();
  const std::vector<CertProfile> bad = {
      {.identity = Identity::node("Bad")},
      {.identity = Identity::client("")},
      {.identity = Identity::node("n"), .validity = std::chrono::seconds(0)},
      {.identity = Identity::node("n"), .validity = hours(24 * 36526)},
      {.identity = Identity::node("n"), .backdate = std::chrono::seconds(-1)},
      {.identity = Identity::server(), .dns_names = {"bad name"}},
      {.identity = Identity::server(), .dns_names = {"a..b"}},
      {.identity = Identity::server(), .dns_names = {"-a.example"}},
      {.identity = Identity::server(), .dns_names = {"x,URI:spiffe://zoneplane/server"}},
      {.identity = Identity::server(), .ip_addresses = {"300.1.1.1"}},
      {.identity = Identity::server(), .ip_addresses = {"localhost"}},
      {.identity = Identity::server(), .ip_addresses = {""}},
  };
  for (const auto& profile : bad) {
    auto issued = ca.issue(key, profile);
    ASSERT_FALSE(issued) << profile.identity.describe();
    EXPECT_EQ(issued.error().code, Code::kInvalidArgument);
  }
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(IssueTest, LongNamesFitTheCommonName) {
  CertificateAuthority ca = makeCa();
  const std::string name(63, 'n');
  auto issued = ca.issue(makeKey(), CertProfile{.identity = Identity::client(name)});
  ASSERT_TRUE(issued) << issued.error().toString();
  EXPECT_EQ(inspectCertificate(*issued)->identity, Identity::client(name));
}

TEST(FingerprintTest, StableHexOfTheFirstCertificate) {
  CertificateAuthority ca = makeCa();
  auto first = fingerprint(ca.certPem());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 64u);
  EXPECT_TRUE(std::ranges::all_of(*first, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }));
  EXPECT_EQ(fingerprint(ca.certPem()).value_or(""), *first);
  EXPECT_EQ(ca.fingerprint(), *first);
  auto leaf = ca.issue(makeKey(), CertProfile{.identity = Identity::node("a")});
  ASSERT_TRUE(leaf);
  EXPECT_NE(fingerprint(*leaf).value_or(*first), *first) << "the leaf's, not the CA's that follows it";
  EXPECT_EQ(fingerprint(*leaf).value_or(""), inspectCertificate(*leaf)->fingerprint);
  EXPECT_NE(makeCa().fingerprint(), ca.fingerprint());
}

TEST(FingerprintTest, GarbageIsAnError) {
  for (std::string_view pem :
       {std::string_view(""), std::string_view("not pem"),
        std::string_view("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}) {
    auto digest = fingerprint(pem);
    ASSERT_FALSE(digest);
    EXPECT_EQ(digest.error().code, Code::kInvalidArgument);
    EXPECT_FALSE(inspectCertificate(pem));
  }
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, PkiTest, ::testing::Values(KeyType::kEcP256, KeyType::kEd25519),
                         [](const auto& info) {
                           return info.param == KeyType::kEcP256 ? "EcP256" : "Ed25519";
                         });

}  // namespace
}  // namespace zp::tls
