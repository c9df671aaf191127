#pragma once
// TLS contexts for zoneplane's connections and the checks on the peer
// (docs/architecture.md §9.2, §9.3). Built once at start from files; shared
// (read-only) by every connection afterwards.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/status.h"
#include "tls/pki.h"

typedef struct ssl_st SSL;

namespace zp::tls {

// Paths of a party's certificate (chain: leaf then CA), its key, and the CA
// its peers must chain to.
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string ca;
};

// The oldest protocol version a context speaks. Every context offers TLS 1.2
// only with ECDHE key exchange and AEAD suites (ECDHE+AESGCM, ECDHE+CHACHA20:
// no CBC, no SHA-1 MAC), TLS 1.3 with OpenSSL's default suites; compression
// and renegotiation are off.
enum class MinVersion { kTls12, kTls13 };

// The accepting side: presents cert/key; with `require_client_cert`, a peer
// must present a certificate chaining to `files.ca` or the handshake fails.
// kInvalidArgument/kNotFound naming the file that is missing or does not
// load, or a key that does not match the certificate.
Result<std::shared_ptr<boost::asio::ssl::context>> serverContext(const TlsFiles& files,
                                                                 bool require_client_cert,
                                                                 MinVersion min_version);
// The connecting side: verifies the peer's chain against `files.ca` (the
// system's trust store, OpenSSL's default verify paths, when it is empty); presents
// cert/key when both are set (mutual TLS). Host names are checked only where
// the caller asks (Transport::expectServerName).
Result<std::shared_ptr<boost::asio::ssl::context>> clientContext(const TlsFiles& files,
                                                                 MinVersion min_version);

// The identity (URI SAN) of the peer's verified certificate after a
// successful handshake. kUnauthenticated when the peer presented none, its
// chain was not verified, or it names no zoneplane identity, a malformed one
// or more than one (as inspectCertificate() reads it).
Result<Identity> peerIdentity(SSL* ssl);
// peerIdentity() == expected, else kUnauthenticated saying what the peer is
// and what was expected ("the peer is node/node-2, expected node/node-1").
Status requirePeer(SSL* ssl, const Identity& expected);

// The join flow's first contact (§9.1): a client context that verifies
// nothing during the handshake, for use with verifyPinnedServer() only.
Result<std::shared_ptr<boost::asio::ssl::context>> pinningClientContext();
// After a handshake on a pinningClientContext(): accepts the server only if
// the chain it sent holds a CA certificate whose SHA-256 is `ca_fingerprint`
// (hex, either case), the leaf verifies against that CA and names `host`
// (DNS or IP), and the leaf's identity is `server` (a node's certificate of
// the cluster that names the host is refused). Returns the CA's PEM;
// kUnauthenticated otherwise, saying why.
Result<std::string> verifyPinnedServer(SSL* ssl, std::string_view ca_fingerprint,
                                       const std::string& host);

}  // namespace zp::tls
