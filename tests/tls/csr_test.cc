// CSRs (tls/pki.h createCsr, CertificateAuthority::sign): the join flow's
// signing of a public key under an identity the CA chooses.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "tls/pki.h"
#include "tls/x509_check.h"

namespace zp::tls {
namespace {

using x509check::bioString;
using x509check::parseChain;
using x509check::verifyLeaf;

struct ReqFree {
  void operator()(X509_REQ* request) const { X509_REQ_free(request); }
};
using ReqPtr = std::unique_ptr<X509_REQ, ReqFree>;

ReqPtr parseRequest(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  ReqPtr request(PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return request;
}

std::string requestPem(X509_REQ* request) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, request);
  std::string pem = bioString(bio);
  BIO_free(bio);
  return pem;
}

class CsrTest : public ::testing::TestWithParam<KeyType> {
 protected:
  CsrTest()
      : ca_(std::move(*CertificateAuthority::create(KeyType::kEcP256, "csr test CA"))),
        key_(std::move(*PrivateKey::generate(GetParam()))) {}
  CertificateAuthority ca_;
  PrivateKey key_;
};

TEST_P(CsrTest, SignCertifiesTheCsrKeyUnderTheProfileIdentity) {
  // The CSR asks to be a client with another name; the CA decides.
  auto csr = createCsr(key_, Identity::client("mallory"));
  ASSERT_TRUE(csr) << csr.error().toString();
  EXPECT_TRUE(csr->starts_with("-----BEGIN CERTIFICATE REQUEST-----"));

  auto chain = ca_.sign(*csr, CertProfile{.identity = Identity::node("node-1")});
  ASSERT_TRUE(chain) << chain.error().toString();
  auto info = inspectCertificate(*chain);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->identity, Identity::node("node-1"));
  EXPECT_EQ(info->subject, "CN = node/node-1, O = zoneplane");
  EXPECT_TRUE(info->dns_names.empty());
  EXPECT_EQ(verifyLeaf(ca_.certPem(), *chain, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  auto certificates = parseChain(*chain);
  ASSERT_EQ(certificates.size(), 2u);
  EXPECT_EQ(X509_check_private_key(certificates[0].get(), key_.get()), 1);
}

TEST_P(CsrTest, CsrCarriesItsIdentity) {
  auto csr = createCsr(key_, Identity::node("node-2"));
  ASSERT_TRUE(csr);
  ReqPtr request = parseRequest(*csr);
  ASSERT_TRUE(request);
  EXPECT_EQ(X509_REQ_verify(request.get(), X509_REQ_get0_pubkey(request.get())), 1);
  EXPECT_FALSE(createCsr(key_, Identity::node("Node_2")));
}

TEST_P(CsrTest, BadSignatureIsRefused) {
  auto csr = createCsr(key_, Identity::node("node-1"));
  ASSERT_TRUE(csr);
  // Another public key under the original signature.
  ReqPtr request = parseRequest(*csr);
  auto other = PrivateKey::generate(GetParam());
  ASSERT_TRUE(request && other);
  ASSERT_EQ(X509_REQ_set_pubkey(request.get(), other->get()), 1);
  const std::string forged = requestPem(request.get());
  ASSERT_NE(forged, *csr);

  auto signed_forgery = ca_.sign(forged, CertProfile{.identity = Identity::node("node-1")});
  ASSERT_FALSE(signed_forgery);
  EXPECT_EQ(signed_forgery.error().code, Code::kInvalidArgument);
  EXPECT_NE(signed_forgery.error().message.find("signature"), std::string::npos)
      << signed_forgery.error().message;
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(CsrSignTest, GarbageAndUnsupportedKeysAreRefused) {
  auto ca = CertificateAuthority::create(KeyType::kEcP256, "csr test CA");
  ASSERT_TRUE(ca);
  const CertProfile profile{.identity = Identity::node("n")};
  for (std::string_view pem :
       {std::string_view(""), std::string_view("garbage"),
        std::string_view("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                         "REQUEST-----\n")}) {
    auto signed_garbage = ca->sign(pem, profile);
    ASSERT_FALSE(signed_garbage);
    EXPECT_EQ(signed_garbage.error().code, Code::kInvalidArgument);
  }
  // A correctly self-signed CSR for an RSA key.
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
  ASSERT_NE(rsa, nullptr);
  ReqPtr request(X509_REQ_new());
  X509_REQ_set_pubkey(request.get(), rsa);
  ASSERT_GT(X509_REQ_sign(request.get(), rsa, EVP_sha256()), 0);
  auto signed_rsa = ca->sign(requestPem(request.get()), profile);
  ASSERT_FALSE(signed_rsa);
  EXPECT_NE(signed_rsa.error().message.find("unsupported key type"), std::string::npos);
  EVP_PKEY_free(rsa);

  auto key = PrivateKey::generate(KeyType::kEcP256);
  auto csr = createCsr(*key, Identity::node("n"));
  ASSERT_TRUE(csr);
  EXPECT_FALSE(ca->sign(*csr, CertProfile{.identity = Identity::node("N")}))
      << "the profile is checked too";
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, CsrTest, ::testing::Values(KeyType::kEcP256, KeyType::kEd25519),
                         [](const auto& info) {
                           return info.param == KeyType::kEcP256 ? "EcP256" : "Ed25519";
                         });

}  // namespace
}  // namespace zp::tls
