#pragma once
// A throw-away cluster PKI for tests (library zp_test_pki): a CA (EC P-256)
// and certificates in a directory the test owns, made with tls/pki.h.
//
//   testsupport::TempDir tmp;
//   auto pki = testsupport::makeTestPki(tmp.path());
//   auto agent = pki.node("node-1");  // {cert, key, ca} paths
//
// Files in `dir`: ca.crt/ca.key, server.crt/.key, <id>.crt/.key per node,
// client.<name>.crt/.key, other-ca.<id>.crt/.key (and other-ca/ holding that
// CA), expired.<id>.crt/.key, localhost-node.<id>.crt/.key. Every file is made once and reused
// afterwards (also by a later makeTestPki on the same dir), so calls are cheap. Node ids and client
// names must be DNS-1123 labels; "server" and "ca" are not available as node ids. A failure is
// reported with ADD_FAILURE and yields empty paths. Not thread-safe: call from the test's thread.

#include <filesystem>
#include <string>

#include "tls/tls_context.h"

namespace zp::testsupport {

struct TestPki {
  std::filesystem::path dir;
  tls::TlsFiles server;      // identity server; DNS localhost, IPs 127.0.0.1 and ::1
  std::string ca_cert_path;  // dir/ca.crt

  // Identity node/<id> (no DNS or IP SAN), valid now, issued by the CA.
  tls::TlsFiles node(const std::string& id) const;
  // Identity node/<id> from this CA that also names localhost, 127.0.0.1 and
  // ::1 (`certs issue --node ID --dns localhost --ip 127.0.0.1 --ip ::1`):
  // a node certificate that a host-name check alone takes for the server's.
  tls::TlsFiles nodeNamingLocalhost(const std::string& id) const;
  // Identity client/<name>.
  tls::TlsFiles client(const std::string& name) const;
  // Identity node/<id> issued by a second, unrelated CA; `ca` is still this
  // PKI's CA, so the foreign certificate is the only thing wrong.
  tls::TlsFiles nodeFromOtherCa(const std::string& id) const;
  // Identity node/<id> from this CA, expired: valid from 2 days ago to 1 day ago.
  tls::TlsFiles expiredNode(const std::string& id) const;
};

// Creates (or reuses) the CA and the server certificate in `dir`, which must
// exist.
TestPki makeTestPki(const std::filesystem::path& dir);

}  // namespace zp::testsupport
