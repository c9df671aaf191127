#pragma once
// The cluster's public key infrastructure (docs/architecture.md §9.1): keys,
// the CA, certificates whose identity is a URI SAN, CSRs for the join flow,
// and fingerprints. OpenSSL's libcrypto only; never the openssl program.
// Values and pure functions except the file helpers; thread-safe.
// Every function leaves the calling thread's OpenSSL error queue as it found
// it: a libcrypto failure becomes an Error carrying OpenSSL's reason.

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

// kInvalidArgument unless the name is a DNS-1123 label (lowercase letters,
// digits and '-', at most 63 characters; for kServer: empty).
Status validateIdentity(const Identity& identity);
// A host name for a DNS SAN: dot-separated labels of letters, digits and '-'
// (not at either end of a label), at most 63 characters each, 253 in all.
bool isDnsName(std::string_view name);

// A private key of a supported type (EC P-256 or Ed25519). Movable, not
// copyable; owns its EVP_PKEY.
class PrivateKey {
 public:
  static Result<PrivateKey> generate(KeyType type);
  // PKCS#8 PEM (unencrypted; an encrypted key is refused, never prompted
  // for); kInvalidArgument when it is not a key of a supported type.
  static Result<PrivateKey> fromPem(std::string_view pem);
  std::string pem() const;  // PKCS#8 PEM; empty only when memory runs out
  KeyType type() const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const;
  };
  explicit PrivateKey(EVP_PKEY* key) : key_(key) {}
  std::unique_ptr<EVP_PKEY, Free> key_;
};

// What to put into a certificate besides its key and issuer. Subject:
// CN = identity.describe(), O = zoneplane.
struct CertProfile {
  Identity identity{};
  // DNS SANs: host names of letters, digits, '-' and '.', at most 253
  // characters. Duplicates are dropped. A node's id is not one of them: its
  // identity is the URI SAN, and host names are not checked between the
  // server and its agents (docs/architecture.md §9.2).
  std::vector<std::string> dns_names{};
  std::vector<std::string> ip_addresses{};  // IP SANs, textual IPv4 or IPv6
  // notAfter = now + validity, but never after the CA's notAfter; more than
  // 0, at most 100 years.
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  // notBefore = now - backdate (clock skew between machines); 0 to 30 days.
  std::chrono::seconds backdate{std::chrono::minutes(5)};
  // For tests and tools: when set, notBefore is exactly this and notAfter is
  // not_before + validity (backdate is ignored), e.g. an expired certificate.
  // Within 100 years of now.
  std::optional<TimePoint> not_before{};
};

inline constexpr std::chrono::seconds kDefaultCaValidity{std::chrono::hours(24 * 3650)};
inline constexpr std::chrono::seconds kDefaultLeafValidity{std::chrono::hours(24 * 365)};

// What a certificate says, for checks and `certs` output.
struct CertInfo {
  // From the zoneplane URI SAN; none when the certificate names none, a
  // malformed one, or more than one.
  std::optional<Identity> identity;
  std::vector<std::string> dns_names{};
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

// Whether the first certificate of `chain_pem` verifies now against the CA
// certificate(s) of `ca_pem` (the chain's other certificates may serve as
// intermediates) for TLS: a leaf with an extendedKeyUsage must allow
// serverAuth. Host names are not checked. kUnauthenticated with OpenSSL's
// reason; kInvalidArgument when either holds no certificate.
Status verifyChain(std::string_view chain_pem, std::string_view ca_pem);
// Whether the first certificate of `cert_pem` certifies `key`'s public key;
// kInvalidArgument when it does not, or does not load.
Status checkCertificateKey(std::string_view cert_pem, const PrivateKey& key);

// A certificate signing request for `identity`, signed with `key` (join flow).
Result<std::string> createCsr(const PrivateKey& key, const Identity& identity);

// The cluster CA: its certificate and key, in memory.
class CertificateAuthority {
 public:
  // A new self-signed CA (basicConstraints CA:TRUE, keyCertSign, cRLSign),
  // subject CN = common_name (1 to 64 printable characters), O = zoneplane.
  static Result<CertificateAuthority> create(KeyType type, std::string_view common_name,
                                             std::chrono::seconds validity = kDefaultCaValidity);
  // kInvalidArgument unless cert_pem holds a CA certificate (its first one)
  // and key_pem the matching key of a supported type.
  static Result<CertificateAuthority> fromPem(std::string_view cert_pem, std::string_view key_pem);
  // Reads DIR/ca.crt and DIR/ca.key. kNotFound when either is absent
  // ("run `zoneplane-server ca init` first").
  static Result<CertificateAuthority> load(const std::string& dir);
  // Writes DIR/ca.key (0600) then DIR/ca.crt (0644), creating DIR (0700,
  // makePrivateDirectory). kAlreadyExists when either file exists (an
  // existing CA is never overwritten, not even by a concurrent save).
  Status save(const std::string& dir) const;

  const std::string& certPem() const { return cert_pem_; }
  const std::string& fingerprint() const { return fingerprint_; }  // SHA-256 of the CA certificate, hex

  // A leaf certificate for `key`'s public key as `profile` says: random
  // 128-bit serial, subject and AKI/SKI, basicConstraints CA:FALSE, keyUsage
  // digitalSignature, extendedKeyUsage per identity kind (§9.1), SAN = the
  // identity URI + DNS names + IPs. kInvalidArgument for a bad profile,
  // kFailedPrecondition when the CA has expired.
  // PEM of the leaf then the CA.
  Result<std::string> issue(const PrivateKey& key, const CertProfile& profile) const;
  // The same for the public key of `csr_pem`, after checking the CSR's
  // signature; its subject and extensions are ignored (kInvalidArgument for a
  // malformed or badly signed CSR, or a key type other than EC P-256/Ed25519).
  Result<std::string> sign(std::string_view csr_pem, const CertProfile& profile) const;

 private:
  CertificateAuthority(std::string cert_pem, std::string fingerprint, PrivateKey key)
      : cert_pem_(std::move(cert_pem)), fingerprint_(std::move(fingerprint)), key_(std::move(key)) {}
  Result<std::string> issueFor(EVP_PKEY* public_key, const CertProfile& profile) const;

  std::string cert_pem_;     // the CA certificate alone
  std::string fingerprint_;  // of cert_pem_
  PrivateKey key_;
};

// Writes `content` to `path` atomically (a temporary file in the same
// directory with exactly `mode`, e.g. 0600 for keys, whatever the umask;
// fsync, rename, fsync of the directory). Replaces an existing file.
// kUnavailable naming the path and the system's reason.
Status writeFileAtomically(const std::string& path, std::string_view content, unsigned mode);
// Reads a whole file of at most 1 MiB (certificates and keys); kNotFound when
// absent, kInvalidArgument when larger, kUnavailable otherwise.
Result<std::string> readFile(const std::string& path);
// Creates `dir` and its missing parents with mode 0700; an existing directory
// keeps its mode. kUnavailable naming the path and the system's reason.
Status makePrivateDirectory(const std::string& dir);

}  // namespace zp::tls
