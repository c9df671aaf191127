#include "agent/node_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <filesystem>
#include <vector>

#include "common/time.h"
#include "tls/pki.h"

namespace zp::agent {
namespace {

struct X509Free {
  void operator()(X509* cert) const { ::X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every certificate in `pem`, in order.
std::vector<X509Ptr> parseCertificates(std::string_view pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, decltype(&::BIO_free)> bio(
      ::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &::BIO_free);
  if (!bio) return out;
  while (X509* cert = ::PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert);
  }
  ::ERR_clear_error();  // the end of the input reads as an error
  return out;
}

}  // namespace

Status verifyChain(std::string_view cert_pem, std::string_view ca_pem) {
  const auto chain = parseCertificates(cert_pem);
  const auto cas = parseCertificates(ca_pem);
  if (chain.empty()) return fail(Code::kUnauthenticated, "no certificate found");
  if (cas.empty()) return fail(Code::kUnauthenticated, "no CA certificate found");
  std::unique_ptr<X509_STORE, decltype(&::X509_STORE_free)> store(::X509_STORE_new(),
                                                                 &::X509_STORE_free);
  struct StackFree {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }  // not the certificates
  };
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, decltype(&::X509_STORE_CTX_free)> ctx(::X509_STORE_CTX_new(),
                                                                       &::X509_STORE_CTX_free);
  if (!store || !untrusted || !ctx) return fail(Code::kInternal, "out of memory");
  for (const auto& ca : cas) {
    if (::X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      ::ERR_clear_error();
      return fail(Code::kUnauthenticated, "the CA certificate does not load");
    }
  }
  for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
  if (::X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get()) != 1) {
    ::ERR_clear_error();
    return fail(Code::kInternal, "cannot verify the certificate");
  }
  ::X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (::X509_verify_cert(ctx.get()) != 1) {
    const int error = ::X509_STORE_CTX_get_error(ctx.get());
    ::ERR_clear_error();
    return fail(Code::kUnauthenticated, ::X509_verify_cert_error_string(error));
  }
  return ok();
}

Result<std::shared_ptr<boost::asio::ssl::context>> loadNodeTls(const tls::TlsFiles& files,
                                                               const std::string& node_id) {
  const auto expected = tls::Identity::node(node_id);
  auto cert = tls::readFile(files.cert);
  if (!cert) {
    if (cert.error().code == Code::kNotFound) {
      return fail(Code::kNotFound, "no node certificate at \"" + files.cert +
                                       "\": join the cluster (--join URL --join-token T) or give "
                                       "one with --tls-cert/--tls-key/--tls-ca ([tls] in the config)",
                  "tls.cert");
    }
    return fail(Code::kInvalidArgument,
                "cannot read the certificate \"" + files.cert + "\": " + cert.error().message,
                "tls.cert");
  }
  auto info = tls::inspectCertificate(*cert);
  if (!info) {
    return fail(Code::kInvalidArgument,
                "the certificate \"" + files.cert + "\" does not load: " + info.error().message,
                "tls.cert");
  }
  if (!info->identity) {
    return fail(Code::kInvalidArgument,
                "the certificate \"" + files.cert + "\" names no zoneplane identity; this agent "
                "needs one for " + expected.describe(),
                "tls.cert");
  }
  if (*info->identity != expected) {
    return fail(Code::kInvalidArgument,
                "the certificate \"" + files.cert + "\" is for " + info->identity->describe() +
                    ", but this agent is " + expected.describe() +
                    " (a certificate of another node, or the wrong --node-id)",
                "tls.cert");
  }
  const auto now = std::chrono::system_clock::now();
  if (info->not_after <= now) {
    return fail(Code::kInvalidArgument,
                "the certificate \"" + files.cert + "\" expired at " +
                    formatRfc3339(info->not_after) + "; issue a new one",
                "tls.cert");
  }
  auto ca = tls::readFile(files.ca);
  if (!ca) {
    return fail(ca.error().code == Code::kNotFound ? Code::kNotFound : Code::kInvalidArgument,
                "cannot read the CA certificate \"" + files.ca + "\": " + ca.error().message,
                "tls.ca");
  }
  if (auto chained = verifyChain(*cert, *ca); !chained) {
    return fail(Code::kInvalidArgument,
                "the certificate \"" + files.cert + "\" does not verify against the CA \"" +
                    files.ca + "\": " + chained.error().message,
                "tls.cert");
  }
  // Loads the key and checks it belongs to the certificate.
  auto context = tls::serverContext(files, /*require_client_cert=*/true, tls::MinVersion::kTls13);
  if (!context) return fail(context.error().code, context.error().message, "tls.key");
  return context;
}

std::string presentedIdentity(SSL* ssl) {
  X509* cert = ssl == nullptr ? nullptr : ::SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "no certificate";
  std::unique_ptr<BIO, decltype(&::BIO_free)> bio(::BIO_new(::BIO_s_mem()), &::BIO_free);
  if (bio && ::PEM_write_bio_X509(bio.get(), cert) == 1) {
    char* data = nullptr;
    const long size = ::BIO_get_mem_data(bio.get(), &data);
    auto info = tls::inspectCertificate(std::string_view(data, static_cast<std::size_t>(size)));
    if (info && info->identity) return info->identity->describe();
    if (info) return "a certificate without zoneplane identity (" + info->subject + ")";
  }
  ::ERR_clear_error();
  return "an unreadable certificate";
}

}  // namespace zp::agent
