// The test PKI (tests/support/test_pki.h) that other tests build on: each
// kind of certificate is what it claims to be.

#include "support/test_pki.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/temp_dir.h"
#include "tls/pki.h"
#include "tls/x509_check.h"

namespace zp::testsupport {
namespace {

using tls::x509check::verifyLeaf;

std::string read(const std::string& path) { return tls::readFile(path).value_or(""); }

TEST(TestPkiTest, EveryKindOfCertificate) {
  TempDir dir("zp-test-pki");
  TestPki pki = makeTestPki(dir.path());
  const std::string ca = read(pki.ca_cert_path);
  ASSERT_FALSE(ca.empty());

  EXPECT_EQ(pki.server.ca, pki.ca_cert_path);
  auto server = tls::inspectCertificate(read(pki.server.cert));
  ASSERT_TRUE(server);
  EXPECT_EQ(server->identity, tls::Identity::server());
  EXPECT_EQ(server->dns_names, std::vector<std::string>{"localhost"});
  EXPECT_EQ(server->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(verifyLeaf(ca, read(pki.server.cert), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_TRUE(tls::PrivateKey::fromPem(read(pki.server.key)));

  auto node = pki.node("node-1");
  EXPECT_EQ(tls::inspectCertificate(read(node.cert))->identity, tls::Identity::node("node-1"));
  EXPECT_TRUE(tls::inspectCertificate(read(node.cert))->dns_names.empty());
  EXPECT_EQ(verifyLeaf(ca, read(node.cert), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  struct stat info {};
  ASSERT_EQ(::stat(node.key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  auto client = pki.client("ci");
  EXPECT_EQ(tls::inspectCertificate(read(client.cert))->identity, tls::Identity::client("ci"));
  EXPECT_EQ(verifyLeaf(ca, read(client.cert), X509_PURPOSE_SSL_CLIENT), X509_V_OK);

  auto foreign = pki.nodeFromOtherCa("node-1");
  EXPECT_EQ(foreign.ca, pki.ca_cert_path);
  EXPECT_NE(foreign.cert, node.cert);
  EXPECT_EQ(tls::inspectCertificate(read(foreign.cert))->identity, tls::Identity::node("node-1"));
  EXPECT_EQ(verifyLeaf(ca, read(foreign.cert), X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

  auto naming = tls::inspectCertificate(read(pki.nodeNamingLocalhost("node-1").cert));
  ASSERT_TRUE(naming);
  EXPECT_EQ(naming->identity, tls::Identity::node("node-1"));
  EXPECT_EQ(naming->dns_names, std::vector<std::string>{"localhost"});
  EXPECT_EQ(naming->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));

  auto expired = pki.expiredNode("node-1");
  EXPECT_EQ(verifyLeaf(ca, read(expired.cert), X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST(TestPkiTest, FilesAreMadeOnce) {
  TempDir dir("zp-test-pki");
  TestPki pki = makeTestPki(dir.path());
  const std::string first = read(pki.node("node-1").cert);
  EXPECT_EQ(read(pki.node("node-1").cert), first);
  TestPki again = makeTestPki(dir.path());
  EXPECT_EQ(read(again.ca_cert_path), read(pki.ca_cert_path));
  EXPECT_EQ(read(again.node("node-1").cert), first);
  EXPECT_NE(read(pki.node("node-2").cert), first);
}

}  // namespace
}  // namespace zp::testsupport
