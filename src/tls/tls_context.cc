#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <string_view>

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

Status setMinVersion(ssl::context& context, MinVersion min_version) {
  const int version = min_version == MinVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (::SSL_CTX_set_min_proto_version(context.native_handle(), version) != 1) {
    return fail(Code::kInternal, "cannot set the minimum TLS version: " + opensslError());
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

std::string lowerHex(const unsigned char* data, unsigned size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::string sha256Of(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  if (::X509_digest(cert, ::EVP_sha256(), digest, &size) != 1) {
    ::ERR_clear_error();
    return {};
  }
  return lowerHex(digest, size);
}

Result<std::string> pemOf(X509* cert) {
  std::unique_ptr<BIO, decltype(&::BIO_free)> bio(::BIO_new(::BIO_s_mem()), &::BIO_free);
  if (!bio || ::PEM_write_bio_X509(bio.get(), cert) != 1) {
    return fail(Code::kInternal, "cannot encode a certificate: " + opensslError());
  }
  char* data = nullptr;
  const long size = ::BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

Result<ContextPtr> serverContext(const TlsFiles& files, bool require_client_cert,
                                 MinVersion min_version) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  if (auto s = setMinVersion(*context, min_version); !s) return fail(s.error());
  if (auto s = useIdentity(*context, files); !s) return fail(s.error());
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
  if (auto s = setMinVersion(*context, min_version); !s) return fail(s.error());
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
  auto* names = static_cast<GENERAL_NAMES*>(
      ::X509_get_ext_d2i(peer, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return fail(Code::kUnauthenticated, "the peer's certificate names no zoneplane identity");
  }
  std::optional<Result<Identity>> found;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    const std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                                static_cast<std::size_t>(ASN1_STRING_length(uri)));
    if (text.starts_with("spiffe://zoneplane/")) found = Identity::fromUri(text);
  }
  ::GENERAL_NAMES_free(names);
  if (!found) {
    return fail(Code::kUnauthenticated, "the peer's certificate names no zoneplane identity");
  }
  if (!*found) {
    return fail(Code::kUnauthenticated,
                "the peer's certificate has a malformed identity: " + found->error().message);
  }
  return std::move(**found);
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
  if (auto s = setMinVersion(*context, MinVersion::kTls12); !s) return fail(s.error());
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
  std::string wanted(ca_fingerprint);
  std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  X509* ca = nullptr;
  for (int i = 0; i < sk_X509_num(chain) && ca == nullptr; ++i) {
    X509* candidate = sk_X509_value(chain, i);
    if (sha256Of(candidate) == wanted && ::X509_check_ca(candidate) != 0) ca = candidate;
  }
  if (ca == nullptr) {
    return fail(Code::kUnauthenticated,
                "the server's certificate chain holds no CA with the fingerprint of the join token "
                "(a different cluster, or someone in between)");
  }
  std::unique_ptr<X509_STORE, decltype(&::X509_STORE_free)> store(::X509_STORE_new(),
                                                                 &::X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&::X509_STORE_CTX_free)> ctx(::X509_STORE_CTX_new(),
                                                                       &::X509_STORE_CTX_free);
  if (!store || !ctx || ::X509_STORE_add_cert(store.get(), ca) != 1 ||
      ::X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain) != 1) {
    return fail(Code::kInternal, "cannot verify the server's certificate: " + opensslError());
  }
  X509_VERIFY_PARAM* param = ::X509_STORE_CTX_get0_param(ctx.get());
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  const int named = ec ? ::X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size())
                       : ::X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str());
  if (named != 1) {
    ::ERR_clear_error();
    return fail(Code::kInvalidArgument, "cannot check the server name \"" + host + "\"");
  }
  ::X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (::X509_verify_cert(ctx.get()) != 1) {
    const int error = ::X509_STORE_CTX_get_error(ctx.get());
    ::ERR_clear_error();
    return fail(Code::kUnauthenticated, std::string("the server's certificate does not verify "
                                                    "against the pinned CA: ") +
                                            ::X509_verify_cert_error_string(error));
  }
  return pemOf(ca);
}

}  // namespace zp::tls
