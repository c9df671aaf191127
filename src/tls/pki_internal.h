#pragma once
// Internal to zp_tls (pki*.cc): owners for libcrypto objects, the conversion
// of OpenSSL's error queue into an Error, PEM helpers and name checks.
// Not installed for other modules.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tls/pki.h"

namespace zp::tls::detail {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Deleter<ASN1_STRING_free>>;

// Scope guard: whatever OpenSSL queues inside the scope (including the
// harmless leftovers of a successful PEM read) is dropped at its end; entries
// queued before it are kept. Every public pki function opens one.
class ErrorQueueScope {
 public:
  ErrorQueueScope() { ERR_set_mark(); }
  ~ErrorQueueScope() { ERR_pop_to_mark(); }
  ErrorQueueScope(const ErrorQueueScope&) = delete;
  ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;
};

// An Error "`what`: <OpenSSL's reasons>", draining the thread's error queue.
Error opensslError(Code code, std::string what);

// PEM input is bounded (a certificate chain or key is a few KiB).
inline constexpr std::size_t kMaxPemBytes = 1024 * 1024;

// A read-only memory BIO over `data` (which must outlive it); kInvalidArgument
// when `data` is empty or larger than kMaxPemBytes (`what` names the input).
Result<BioPtr> readBio(std::string_view data, std::string_view what);
// An empty writable memory BIO.
Result<BioPtr> writeBio();
// Everything written to a memory BIO.
std::string bioText(BIO* bio);

// The first certificate of a PEM text; kInvalidArgument when there is none.
Result<X509Ptr> parseCertificate(std::string_view pem);
// Every certificate of a PEM text, in order; kInvalidArgument when there is none.
Result<std::vector<X509Ptr>> parseCertificates(std::string_view pem);
Result<std::string> certificatePem(X509* certificate);
// SHA-256 of the DER, lowercase hex.
Result<std::string> certificateFingerprint(X509* certificate);

// The zoneplane identity the certificate's URI SANs name (those starting
// with spiffe://zoneplane/): nullopt when it names none; kInvalidArgument when
// it names more than one (such a certificate speaks for none of them) or a
// malformed one. The one reading of identities: inspectCertificate(),
// peerIdentity() and verifyPinnedServer() all use it.
Result<std::optional<Identity>> certificateIdentity(X509* certificate);

// X509_verify_cert of `leaf` now against the trusted `cas`, with `untrusted`
// (may be nullptr) as candidate intermediates, for a TLS server (a leaf with
// an extendedKeyUsage must allow serverAuth); when `host` is not empty, the
// leaf must also name it (a DNS name, or an IP address as text).
// kUnauthenticated with OpenSSL's reason; kInvalidArgument when `host`
// cannot be checked.
Status verifyLeaf(X509* leaf, STACK_OF(X509) * untrusted, const std::vector<X509*>& cas,
                  const std::string& host = "");

// A certificate's notBefore/notAfter.
Result<TimePoint> timeOf(const ASN1_TIME* time);

// EC P-256 or Ed25519; kInvalidArgument for any other key.
Result<KeyType> supportedKeyType(const EVP_PKEY* key);

// Lowercase DNS-1123 label, at most 63 characters.
bool isDnsLabel(std::string_view name);

// Appends a GENERAL_NAME of `type` (GEN_URI, GEN_DNS: text; GEN_IPADD: the
// address bytes) to `names`.
Status addGeneralName(GENERAL_NAMES* names, int type, std::string_view value);

// The 4 or 16 bytes of a textual IPv4 or IPv6 address; nullopt when malformed.
std::optional<std::string> ipAddressBytes(std::string_view text);

// What buildCertificate() puts into a certificate (already validated).
struct CertificateSpec {
  EVP_PKEY* subject_key = nullptr;  // its public half is certified
  std::string common_name;          // cut to 64 characters, the X.509 bound
  X509* issuer = nullptr;           // nullptr: self-signed with signing_key
  EVP_PKEY* signing_key = nullptr;  // the issuer's key
  bool is_ca = false;
  std::optional<Identity> identity;  // leaves: URI SAN and extendedKeyUsage
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // textual
  TimePoint not_before{};
  TimePoint not_after{};
};

// An X.509 v3 certificate with a random 128-bit serial, subject CN/O,
// SKI/AKI, critical basicConstraints and keyUsage, and for leaves the EKU of
// the identity's kind and the SANs; signed with SHA-256 (EC) or Ed25519.
Result<X509Ptr> buildCertificate(const CertificateSpec& spec);

}  // namespace zp::tls::detail
