#include "bench_pki.h"

#include "tls/pki.h"

namespace zp::bench {

namespace {

// Issues a leaf for `profile` and writes DIR/<stem>.crt and .key.
Result<tls::TlsFiles> issue(const tls::CertificateAuthority& ca, const std::filesystem::path& dir,
                            const std::string& stem, const tls::CertProfile& profile,
                            const std::string& ca_path) {
  auto key = tls::PrivateKey::generate(tls::KeyType::kEcP256);
  if (!key) return fail(key.error());
  auto chain = ca.issue(*key, profile);
  if (!chain) return fail(chain.error());
  tls::TlsFiles files{(dir / (stem + ".crt")).string(), (dir / (stem + ".key")).string(), ca_path};
  if (auto s = tls::writeFileAtomically(files.key, key->pem(), 0600); !s) return fail(s.error());
  if (auto s = tls::writeFileAtomically(files.cert, *chain, 0644); !s) return fail(s.error());
  return files;
}

}  // namespace

Result<BenchPki> makeBenchPki(const std::filesystem::path& dir, const std::string& node_id) {
  auto ca = tls::CertificateAuthority::create(tls::KeyType::kEcP256, "zoneplane bench CA");
  if (!ca) return fail(ca.error());
  if (auto s = ca->save(dir.string()); !s) return fail(s.error());
  const std::string ca_path = (dir / "ca.crt").string();
  tls::CertProfile server_profile;
  server_profile.identity = tls::Identity::server();
  server_profile.dns_names = {"localhost"};
  server_profile.ip_addresses = {"127.0.0.1"};
  auto server = issue(*ca, dir, "server", server_profile, ca_path);
  if (!server) return fail(server.error());
  tls::CertProfile node_profile;
  node_profile.identity = tls::Identity::node(node_id);
  auto node = issue(*ca, dir, "node", node_profile, ca_path);
  if (!node) return fail(node.error());
  return BenchPki{*server, *node, ca_path};
}

}  // namespace zp::bench
