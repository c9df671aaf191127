#pragma once
// Independent checks on PKI output with libcrypto directly, for the tls tests.

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zp::tls::x509check {

struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Everything written to a memory BIO.
inline std::string bioString(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// Every certificate of a PEM text, in order.
inline std::vector<X509Ptr> parseChain(const std::string& pem) {
  std::vector<X509Ptr> chain;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    chain.emplace_back(certificate);
  }
  BIO_free(bio);
  ERR_clear_error();
  return chain;
}

// X509_verify_cert of the chain's leaf against `ca_pem` for `purpose`
// (X509_PURPOSE_SSL_SERVER, X509_PURPOSE_SSL_CLIENT); X509_V_OK or the error.
inline int verifyLeaf(const std::string& ca_pem, const std::string& chain_pem, int purpose) {
  auto ca = parseChain(ca_pem);
  auto chain = parseChain(chain_pem);
  if (ca.empty() || chain.empty()) return X509_V_ERR_UNSPECIFIED;
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.front().get());
  X509_STORE_CTX* context = X509_STORE_CTX_new();
  X509_STORE_CTX_init(context, store, chain.front().get(), nullptr);
  X509_STORE_CTX_set_purpose(context, purpose);
  int result = X509_verify_cert(context) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(context);
  X509_STORE_CTX_free(context);
  X509_STORE_free(store);
  ERR_clear_error();
  return result;
}

// A leaf certificate the PKI would never issue, signed by a CA directly with
// libcrypto: subjectAltName exactly `alt_names` (OpenSSL's syntax, e.g.
// "URI:spiffe://zoneplane/node/a,URI:spiffe://zoneplane/server"),
// serverAuth and clientAuth, valid from 5 minutes ago for a day. `cert_pem`
// holds the leaf then the CA; both empty when anything fails.
struct ForgedLeaf {
  std::string cert_pem;
  std::string key_pem;
};
inline ForgedLeaf forgeLeaf(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                            const std::string& alt_names) {
  auto ca = parseChain(ca_cert_pem);
  BIO* key_bio = BIO_new_mem_buf(ca_key_pem.data(), static_cast<int>(ca_key_pem.size()));
  EVP_PKEY* ca_key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* leaf = X509_new();
  ForgedLeaf out;
  bool made = !ca.empty() && ca_key != nullptr && key != nullptr && leaf != nullptr &&
              X509_set_version(leaf, X509_VERSION_3) == 1 &&
              ASN1_INTEGER_set(X509_get_serialNumber(leaf), 4242) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(leaf), -300) != nullptr &&
              X509_gmtime_adj(X509_getm_notAfter(leaf), 86400) != nullptr &&
              X509_set_pubkey(leaf, key) == 1 &&
              X509_NAME_add_entry_by_txt(X509_get_subject_name(leaf), "CN", MBSTRING_ASC,
                                         reinterpret_cast<const unsigned char*>("forged"), -1, -1,
                                         0) == 1 &&
              X509_set_issuer_name(leaf, X509_get_subject_name(ca.front().get())) == 1;
  X509V3_CTX context;
  X509V3_set_ctx(&context, made ? ca.front().get() : nullptr, leaf, nullptr, nullptr, 0);
  const std::pair<int, std::string> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_alt_name, alt_names},
  };
  for (const auto& [nid, value] : extensions) {
    if (!made) break;
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    made = extension != nullptr && X509_add_ext(leaf, extension, -1) == 1;
    X509_EXTENSION_free(extension);
  }
  if (made && X509_sign(leaf, ca_key, EVP_sha256()) > 0) {
    BIO* cert_bio = BIO_new(BIO_s_mem());
    BIO* leaf_key_bio = BIO_new(BIO_s_mem());
    if (PEM_write_bio_X509(cert_bio, leaf) == 1 &&
        PEM_write_bio_PrivateKey(leaf_key_bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
      out = {bioString(cert_bio) + ca_cert_pem, bioString(leaf_key_bio)};
    }
    BIO_free(cert_bio);
    BIO_free(leaf_key_bio);
  }
  X509_free(leaf);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  ERR_clear_error();
  return out;
}

}  // namespace zp::tls::x509check
