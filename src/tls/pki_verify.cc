// Checking certificates against a CA and a key (pki.h: verifyChain,
// checkCertificateKey; pki_internal.h: verifyLeaf).

#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>

#include "tls/pki.h"
#include "tls/pki_internal.h"

namespace zp::tls {
namespace detail {
namespace {

using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

// A stack that borrows its certificates (frees only itself).
struct StackFree {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using BorrowedStack = std::unique_ptr<STACK_OF(X509), StackFree>;

}  // namespace

Status verifyLeaf(X509* leaf, STACK_OF(X509) * untrusted, const std::vector<X509*>& cas,
                  const std::string& host) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr context(X509_STORE_CTX_new());
  if (!store || !context) return fail(opensslError(Code::kInternal, "cannot verify a certificate"));
  for (X509* ca : cas) {
    if (X509_STORE_add_cert(store.get(), ca) != 1) {
      return fail(opensslError(Code::kInvalidArgument, "the CA certificate does not load"));
    }
  }
  if (X509_STORE_CTX_init(context.get(), store.get(), leaf, untrusted) != 1) {
    return fail(opensslError(Code::kInternal, "cannot verify a certificate"));
  }
  if (!host.empty()) {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    const int named = ec ? X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size())
                         : X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str());
    if (named != 1) {
      return fail(opensslError(Code::kInvalidArgument,
                               "cannot check the name \"" + host.substr(0, 80) + "\""));
    }
  }
  X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(context.get()) != 1) {
    return fail(Code::kUnauthenticated,
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(context.get())));
  }
  return ok();
}

}  // namespace detail

Status verifyChain(std::string_view chain_pem, std::string_view ca_pem) {
  detail::ErrorQueueScope scope;
  auto chain = detail::parseCertificates(chain_pem);
  if (!chain) return fail(Code::kInvalidArgument, "no certificate found: " + chain.error().message);
  auto cas = detail::parseCertificates(ca_pem);
  if (!cas) return fail(Code::kInvalidArgument, "no CA certificate found: " + cas.error().message);
  detail::BorrowedStack untrusted(sk_X509_new_null());
  if (!untrusted) return fail(detail::opensslError(Code::kInternal, "out of memory"));
  for (std::size_t i = 1; i < chain->size(); ++i) {
    if (sk_X509_push(untrusted.get(), (*chain)[i].get()) == 0) {
      return fail(detail::opensslError(Code::kInternal, "out of memory"));
    }
  }
  std::vector<X509*> trusted;
  for (const auto& ca : *cas) trusted.push_back(ca.get());
  return detail::verifyLeaf(chain->front().get(), untrusted.get(), trusted);
}

Status checkCertificateKey(std::string_view cert_pem, const PrivateKey& key) {
  detail::ErrorQueueScope scope;
  auto certificate = detail::parseCertificate(cert_pem);
  if (!certificate) return fail(certificate.error());
  if (EVP_PKEY_eq(X509_get0_pubkey(certificate->get()), key.get()) != 1) {
    return fail(Code::kInvalidArgument, "the certificate is not for this key");
  }
  return ok();
}

}  // namespace zp::tls
