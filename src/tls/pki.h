#pragma once
// The cluster's public key infrastructure (docs/architecture.md §9.1): keys,
// the CA, certificates whose identity is a URI SAN, CSRs for the join flow,
// and fingerprints. OpenSSL's libcrypto only; never the openssl program.
// Values and pure functions except the file helpers; thread-safe.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace zp::tls {

enum class KeyType { kEcP256, kEd25519 };
std::string_view keyTypeName(KeyType type);                  // "ec-p256", "ed25519"
std::optional<KeyType> parseKeyType(std::string_view name);  // the inverse

// Who a certificate speaks for; carried as a URI SAN (docs/architecture.md §9.1).
struct Identity {
  enum class Kind { kServer, kNode, kClient };
  Kind kind = Kind::kServer;
  std::string name;  // the node id or client name; "" for kServer

  static Identity server() { return {Kind::kServer, ""}; }
  static Identity node(std::string id) { return {Kind::kNode, std::move(id)}; }
  static Identity client(std::string name) { return {Kind::kClient, std::move(name)}; }
  // "spiffe://zoneplane/server", "spiffe://zoneplane/node/ID", "spiffe://zoneplane/client/NAME".
  std::string uri() const;
  // "server", "node/ID", "client/NAME": for messages.
  std::string describe() const;
  // The inverse of uri(); kInvalidArgument for anything else (names must be DNS-1123 labels).
  static Result<Identity> fromUri(std::string_view uri);
  bool operator==(const Identity&) const = default;
};

// A private key. Movable, not copyable; owns its EVP_PKEY.
class PrivateKey {
 public:
  static Result<PrivateKey> generate(KeyType type);
  // PKCS#8 PEM (unencrypted); kInvalidArgument when it is not a key of a supported type.
  static Result<PrivateKey> fromPem(std::string_view pem);
  std::string pem() const;  // PKCS#8 PEM
  KeyType type() const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const;
  };
  explicit PrivateKey(EVP_PKEY* key) : key_(key) {}
  std::unique_ptr<EVP_PKEY, Free> key_;
};

// What to put into a certificate besides its key and issuer.
struct CertProfile {
  Identity identity;
  std::vector<std::string> dns_names;     // extra DNS SANs (a node also gets its id)
  std::vector<std::string> ip_addresses;  // IP SANs, textual
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  // Backdates notBefore by this much (clock skew between machines).
  std::chrono::seconds backdate{std::chrono::minutes(5)};
};

inline constexpr std::chrono::seconds kDefaultCaValidity{std::chrono::hours(24 * 3650)};
inline constexpr std::chrono::seconds kDefaultLeafValidity{std::chrono::hours(24 * 365)};

// What a certificate says, for checks and `certs` output.
struct CertInfo {
  std::optional<Identity> identity;  // from the zoneplane URI SAN, if any
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::string subject;  // one-line form
  TimePoint not_before{};
  TimePoint not_after{};
  std::string fingerprint;  // SHA-256 of the DER, lowercase hex
  bool is_ca = false;
};

// The first certificate in `pem` (a chain file's leaf).
Result<CertInfo> inspectCertificate(std::string_view pem);
// SHA-256 of the first certificate's DER, lowercase hex (64 characters).
Result<std::string> fingerprint(std::string_view cert_pem);

// A certificate signing request for `identity`, signed with `key` (join flow).
Result<std::string> createCsr(const PrivateKey& key, const Identity& identity);

// The cluster CA: its certificate and key, in memory.
class CertificateAuthority {
 public:
  // A new self-signed CA (basicConstraints CA:TRUE, keyCertSign, cRLSign).
  static Result<CertificateAuthority> create(KeyType type, std::string_view common_name,
                                             std::chrono::seconds validity = kDefaultCaValidity);
  static Result<CertificateAuthority> fromPem(std::string_view cert_pem, std::string_view key_pem);
  // Reads DIR/ca.crt and DIR/ca.key. kNotFound when ca.crt is absent
  // ("run `zoneplane-server ca init` first").
  static Result<CertificateAuthority> load(const std::string& dir);
  // Writes DIR/ca.crt (0644) and DIR/ca.key (0600), creating DIR (0700).
  // kAlreadyExists when ca.key exists (an existing CA is never overwritten).
  Status save(const std::string& dir) const;

  const std::string& certPem() const { return cert_pem_; }
  std::string fingerprint() const;  // SHA-256 of the CA certificate, hex

  // A leaf certificate for `key`'s public key as `profile` says
  // (keyUsage digitalSignature(+keyEncipherment for RSA never used),
  // extendedKeyUsage per identity kind, §9.1). PEM of the leaf then the CA.
  Result<std::string> issue(const PrivateKey& key, const CertProfile& profile) const;
  // The same for the public key of `csr_pem`, after checking the CSR's
  // signature; its subject and extensions are ignored (kInvalidArgument for a
  // malformed or badly signed CSR, or a key type other than EC P-256/Ed25519).
  Result<std::string> sign(std::string_view csr_pem, const CertProfile& profile) const;

 private:
  CertificateAuthority(std::string cert_pem, PrivateKey key)
      : cert_pem_(std::move(cert_pem)), key_(std::move(key)) {}
  std::string cert_pem_;
  PrivateKey key_;
};

// Writes `content` to `path` atomically (a temporary file in the same
// directory, fsync, rename) with `mode` (e.g. 0600 for keys).
Status writeFileAtomically(const std::string& path, std::string_view content, unsigned mode);
// Reads a whole file; kNotFound when absent.
Result<std::string> readFile(const std::string& path);

}  // namespace zp::tls
