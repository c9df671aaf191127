#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "tls/pki_internal.h"

namespace zp::tls {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

using ContextPtr = std::shared_ptr<ssl::context>;

// The oldest OpenSSL error on the queue as text, and the queue cleared.
std::string opensslError() {
  const unsigned long code = ::ERR_get_error();
  ::ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ::ERR_error_string_n(code, text, sizeof text);
  return text;
}

// TLS 1.2 suites: forward-secret key exchange and AEAD only (no CBC, no
// SHA-1 MAC, no RSA key exchange). TLS 1.3 keeps OpenSSL's default suites,
// which are all of that kind.
constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

// The protocol versions, TLS 1.2 cipher suites and options of every context.
Status setProtocol(ssl::context& context, MinVersion min_version) {
  const int version = min_version == MinVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (::SSL_CTX_set_min_proto_version(context.native_handle(), version) != 1) {
    return fail(Code::kInternal, "cannot set the minimum TLS version: " + opensslError());
  }
  if (::SSL_CTX_set_cipher_list(context.native_handle(), kTls12Ciphers) != 1) {
    return fail(Code::kInternal, "cannot set the TLS 1.2 cipher suites: " + opensslError());
  }
  ::SSL_CTX_set_options(context.native_handle(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
  return ok();
}

// Reads `path` for `what` ("certificate", …) with an error naming both.
Result<std::string> readPem(const std::string& path, std::string_view what) {
  if (path.empty()) return fail(Code::kInvalidArgument, "no " + std::string(what) + " file given");
  auto text = readFile(path);
  if (!text) {
    return fail(text.error().code,
                "cannot read the " + std::string(what) + " \"" + path + "\": " + text.error().message);
  }
  return text;
}

// Loads the party's own certificate chain and key into `context`.
Status useIdentity(ssl::context& context, const TlsFiles& files) {
  auto cert = readPem(files.cert, "certificate");
  if (!cert) return fail(cert.error());
  auto key = readPem(files.key, "private key");
  if (!key) return fail(key.error());
  boost::system::error_code ec;
  context.use_certificate_chain(asio::buffer(*cert), ec);
  if (ec) {
    ::ERR_clear_error();
    return fail(Code::kInvalidArgument,
                "the certificate \"" + files.cert + "\" does not load: " + ec.message());
  }
  context.use_private_key(asio::buffer(*key), ssl::context::pem, ec);
  if (ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    ::ERR_clear_error();
    return fail(Code::kInvalidArgument, "the private key \"" + files.key +
                                            "\" does not belong to the certificate \"" +
                                            files.cert + "\"");
  }
  if (ec) {
    ::ERR_clear_error();
    return fail(Code::kInvalidArgument,
                "the private key \"" + files.key + "\" does not load: " + ec.message());
  }
  if (::SSL_CTX_check_private_key(context.native_handle()) != 1) {
    ::ERR_clear_error();
    return fail(Code::kInvalidArgument, "the private key \"" + files.key +
                                            "\" does not belong to the certificate \"" +
                                            files.cert + "\"");
  }
  return ok();
}

// Trusts the CA certificate(s) in `path` for verifying peers.
Status trustCa(ssl::context& context, const std::string& path) {
  auto pem = readPem(path, "CA certificate");
  if (!pem) return fail(pem.error());
  boost::system::error_code ec;
  context.add_certificate_authority(asio::buffer(*pem), ec);
  if (ec) {
    ::ERR_clear_error();
    return fail(Code::kInvalidArgument,
                "the CA certificate \"" + path + "\" does not load: " + ec.message());
  }
  return ok();
}

}  // namespace

Result<ContextPtr> serverContext(const TlsFiles& files, bool require_client_cert,
                                 MinVersion min_version) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  if (auto s = setProtocol(*context, min_version); !s) return fail(s.error());
  if (auto s = useIdentity(*context, files); !s) return fail(s.error());
  // No peer resumes sessions (every connection is long-lived or one-shot),
  // and a TLS 1.3 ticket sent after the handshake only delays the first answer.
  ::SSL_CTX_set_num_tickets(context->native_handle(), 0);
  if (require_client_cert) {
    if (auto s = trustCa(*context, files.ca); !s) return fail(s.error());
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else {
    context->set_verify_mode(ssl::verify_none);
  }
  return context;
}

Result<ContextPtr> clientContext(const TlsFiles& files, MinVersion min_version) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  if (auto s = setProtocol(*context, min_version); !s) return fail(s.error());
  if (files.ca.empty()) {
    boost::system::error_code ec;
    context->set_default_verify_paths(ec);
    if (ec) {
      ::ERR_clear_error();
      return fail(Code::kInternal, "cannot load the system's CA certificates: " + ec.message());
    }
  } else if (auto s = trustCa(*context, files.ca); !s) {
    return fail(s.error());
  }
  if (!files.cert.empty() || !files.key.empty()) {
    if (auto s = useIdentity(*context, files); !s) return fail(s.error());
  }
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

Result<Identity> peerIdentity(SSL* ssl) {
  if (ssl == nullptr) return fail(Code::kUnauthenticated, "the connection is not TLS");
  X509* peer = ::SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) return fail(Code::kUnauthenticated, "the peer presented no certificate");
  if (::SSL_get_verify_result(ssl) != X509_V_OK) {
    return fail(Code::kUnauthenticated, "the peer's certificate was not verified");
  }
  detail::ErrorQueueScope scope;
  auto identity = detail::certificateIdentity(peer);
  if (!identity) {
    return fail(Code::kUnauthenticated,
                "the peer's certificate has no usable identity: " + identity.error().message);
  }
  if (!*identity) {
    return fail(Code::kUnauthenticated, "the peer's certificate names no zoneplane identity");
  }
  return std::move(**identity);
}

Status requirePeer(SSL* ssl, const Identity& expected) {
  auto identity = peerIdentity(ssl);
  if (!identity) return fail(Code::kUnauthenticated, identity.error().message);
  if (*identity != expected) {
    return fail(Code::kUnauthenticated, "the peer is " + identity->describe() + ", expected " +
                                            expected.describe());
  }
  return ok();
}

Result<ContextPtr> pinningClientContext() {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  if (auto s = setProtocol(*context, MinVersion::kTls12); !s) return fail(s.error());
  // Nothing is trusted yet: verifyPinnedServer() decides after the handshake.
  context->set_verify_mode(ssl::verify_none);
  return context;
}

Result<std::string> verifyPinnedServer(SSL* ssl, std::string_view ca_fingerprint,
                                       const std::string& host) {
  if (ssl == nullptr) return fail(Code::kUnauthenticated, "the connection is not TLS");
  X509* leaf = ::SSL_get0_peer_certificate(ssl);
  STACK_OF(X509)* chain = ::SSL_get_peer_cert_chain(ssl);
  if (leaf == nullptr || chain == nullptr) {
    return fail(Code::kUnauthenticated, "the server presented no certificate");
  }
  detail::ErrorQueueScope scope;
  std::string wanted(ca_fingerprint);
  std::ranges::transform(wanted, wanted.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  X509* ca = nullptr;
  for (int i = 0; i < sk_X509_num(chain) && ca == nullptr; ++i) {
    X509* candidate = sk_X509_value(chain, i);
    auto digest = detail::certificateFingerprint(candidate);
    if (digest && *digest == wanted && ::X509_check_ca(candidate) != 0) ca = candidate;
  }
  if (ca == nullptr) {
    return fail(Code::kUnauthenticated,
                "the server's certificate chain holds no CA with the fingerprint of the join token "
                "(a different cluster, or someone in between)");
  }
  if (auto verified = detail::verifyLeaf(leaf, chain, {ca}, host); !verified) {
    return fail(verified.error().code,
                "the server's certificate does not verify against the pinned CA: " +
                    verified.error().message);
  }
  // A certificate of the cluster that names the host is not enough: a node's
  // certificate may name it too. Only the server's identity is the server.
  auto identity = detail::certificateIdentity(leaf);
  if (!identity || *identity != Identity::server()) {
    const std::string whose = !identity
                                  ? "has no usable identity (" + identity.error().message + ")"
                              : *identity ? "is " + (*identity)->describe() + "'s"
                                          : "names no zoneplane identity";
    return fail(Code::kUnauthenticated, "the certificate presented " + whose +
                                            ", not the server's (a certificate of this cluster "
                                            "for another identity)");
  }
  return detail::certificatePem(ca);
}

}  // namespace zp::tls
