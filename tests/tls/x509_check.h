#pragma once
// Independent checks on PKI output with libcrypto directly, for the tls tests.

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
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

}  // namespace zp::tls::x509check
