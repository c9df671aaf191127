#include "agent/node_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/time.h"
#include "tls/pki.h"

namespace zp::agent {

Result<std::shared_ptr<boost::asio::ssl::context>> loadNodeTls(const tls::TlsFiles& files,
                                                               const std::string& node_id) {
  const auto expected = tls::Identity::node(node_id);
  auto cert = tls::readFile(files.cert);
  if (!cert) {
    if (cert.error().code == Code::kNotFound) {
      return fail(Code::kNotFound,
                  "no node certificate at \"" + files.cert +
                      "\": join the cluster (--join URL with --join-token-file) or give "
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
  if (auto chained = tls::verifyChain(*cert, *ca); !chained) {
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
