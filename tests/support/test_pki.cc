#include "support/test_pki.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "tls/pki.h"

namespace zp::testsupport {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

// How a certificate differs from a plain one of its identity.
enum class Variant { kNormal, kOtherCa, kExpired, kNamesLocalhost };

std::optional<tls::CertificateAuthority> loadOrCreateCa(const fs::path& dir,
                                                        const std::string& name) {
  if (fs::exists(dir / "ca.crt")) {
    auto ca = tls::CertificateAuthority::load(dir.string());
    if (!ca) ADD_FAILURE() << "test PKI: " << ca.error().toString();
    return ca ? std::optional(std::move(*ca)) : std::nullopt;
  }
  auto ca = tls::CertificateAuthority::create(tls::KeyType::kEcP256, name);
  if (ca) {
    if (auto saved = ca->save(dir.string()); !saved) ca = std::unexpected(saved.error());
  }
  if (!ca) ADD_FAILURE() << "test PKI: " << ca.error().toString();
  return ca ? std::optional(std::move(*ca)) : std::nullopt;
}

// Writes <stem>.crt/.key into `dir` for `profile` unless they exist.
tls::TlsFiles issueOnce(const fs::path& dir, const std::string& stem, const fs::path& ca_dir,
                        const tls::CertProfile& profile, const std::string& ca_cert_path) {
  tls::TlsFiles files{(dir / (stem + ".crt")).string(), (dir / (stem + ".key")).string(),
                      ca_cert_path};
  if (fs::exists(files.cert) && fs::exists(files.key)) return files;
  auto ca = loadOrCreateCa(ca_dir, ca_dir == dir ? "zoneplane test CA" : "unrelated test CA");
  if (!ca) return {};
  auto report = [&](const Error& error) {
    ADD_FAILURE() << "test PKI: " << stem << ": " << error.toString();
    return tls::TlsFiles{};
  };
  auto key = tls::PrivateKey::generate(tls::KeyType::kEcP256);
  if (!key) return report(key.error());
  auto chain = ca->issue(*key, profile);
  if (!chain) return report(chain.error());
  if (auto s = tls::writeFileAtomically(files.key, key->pem(), 0600); !s) return report(s.error());
  if (auto s = tls::writeFileAtomically(files.cert, *chain, 0644); !s) return report(s.error());
  return files;
}

tls::TlsFiles nodeFiles(const TestPki& pki, const std::string& id, Variant variant) {
  if (id == "server" || id == "ca") {
    ADD_FAILURE() << "test PKI: node id \"" << id << "\" names the PKI's own files";
    return {};
  }
  tls::CertProfile profile{.identity = tls::Identity::node(id)};
  std::string stem = id;
  fs::path ca_dir = pki.dir;
  if (variant == Variant::kOtherCa) {
    stem = "other-ca." + id;
    ca_dir = pki.dir / "other-ca";
  } else if (variant == Variant::kExpired) {
    stem = "expired." + id;
    profile.not_before = std::chrono::system_clock::now() - hours(48);
    profile.validity = hours(24);
  } else if (variant == Variant::kNamesLocalhost) {
    stem = "localhost-node." + id;
    profile.dns_names = {"localhost"};
    profile.ip_addresses = {"127.0.0.1", "::1"};
  }
  return issueOnce(pki.dir, stem, ca_dir, profile, pki.ca_cert_path);
}

}  // namespace

tls::TlsFiles TestPki::node(const std::string& id) const {
  return nodeFiles(*this, id, Variant::kNormal);
}

tls::TlsFiles TestPki::nodeNamingLocalhost(const std::string& id) const {
  return nodeFiles(*this, id, Variant::kNamesLocalhost);
}

tls::TlsFiles TestPki::client(const std::string& name) const {
  return issueOnce(dir, "client." + name, dir,
                   tls::CertProfile{.identity = tls::Identity::client(name)}, ca_cert_path);
}

tls::TlsFiles TestPki::nodeFromOtherCa(const std::string& id) const {
  return nodeFiles(*this, id, Variant::kOtherCa);
}

tls::TlsFiles TestPki::expiredNode(const std::string& id) const {
  return nodeFiles(*this, id, Variant::kExpired);
}

TestPki makeTestPki(const fs::path& dir) {
  TestPki pki;
  pki.dir = dir;
  pki.ca_cert_path = (dir / "ca.crt").string();
  tls::CertProfile profile{.identity = tls::Identity::server(),
                           .dns_names = {"localhost"},
                           .ip_addresses = {"127.0.0.1", "::1"}};
  pki.server = issueOnce(dir, "server", dir, profile, pki.ca_cert_path);
  return pki;
}

}  // namespace zp::testsupport
