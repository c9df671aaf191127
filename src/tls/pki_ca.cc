// CertificateAuthority (pki.h): creating and loading the CA, issuing leaf
// certificates for keys and CSRs. Files: pki_files.cc.

#include <openssl/pem.h>

#include <algorithm>
#include <cctype>

#include "tls/pki.h"
#include "tls/pki_internal.h"

namespace zp::tls {
namespace {

using std::chrono::days;
using std::chrono::seconds;

constexpr seconds kMaxValidity = days(36525);  // 100 years
constexpr seconds kMaxBackdate = days(30);
// The CA's notBefore lies this far back, so leaves issued right after `ca
// init` also verify on machines whose clocks are a little behind.
constexpr seconds kCaBackdate = std::chrono::hours(1);
constexpr std::size_t kMaxAltNames = 100;

Status checkValidity(seconds validity) {
  if (validity <= seconds::zero() || validity > kMaxValidity) {
    return fail(Code::kInvalidArgument,
                "validity must be more than 0 and at most 100 years (36525 days), not " +
                    std::to_string(validity.count()) + " s",
                "validity");
  }
  return ok();
}

// The leaf part of a CertificateSpec from `profile`, checked and with
// duplicate names dropped (DNS names compare lowercased).
Result<detail::CertificateSpec> leafSpec(const CertProfile& profile, TimePoint now) {
  if (auto s = validateIdentity(profile.identity); !s) return fail(s.error());
  if (auto s = checkValidity(profile.validity); !s) return fail(s.error());
  detail::CertificateSpec spec;
  if (profile.not_before) {
    if (*profile.not_before < now - kMaxValidity || *profile.not_before > now + kMaxValidity) {
      return fail(Code::kInvalidArgument, "not_before must lie within 100 years of now",
                  "not_before");
    }
    spec.not_before = *profile.not_before;
    spec.not_after = *profile.not_before + profile.validity;
  } else {
    if (profile.backdate < seconds::zero() || profile.backdate > kMaxBackdate) {
      return fail(Code::kInvalidArgument, "backdate must be 0 to 30 days", "backdate");
    }
    spec.not_before = now - profile.backdate;
    spec.not_after = now + profile.validity;
  }

  const std::vector<std::string>& dns_names = profile.dns_names;
  if (dns_names.size() > kMaxAltNames || profile.ip_addresses.size() > kMaxAltNames) {
    return fail(Code::kInvalidArgument, "at most 100 DNS names and 100 IP addresses", "dns_names");
  }
  for (std::string name : dns_names) {
    if (!isDnsName(name)) {
      return fail(Code::kInvalidArgument,
                  "not a DNS name: \"" + name.substr(0, 80) +
                      "\" (dot-separated labels of letters, digits and '-')",
                  "dns_names");
    }
    std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (std::ranges::find(spec.dns_names, name) == spec.dns_names.end()) {
      spec.dns_names.push_back(std::move(name));
    }
  }
  std::vector<std::string> seen;
  for (const auto& ip : profile.ip_addresses) {
    auto bytes = detail::ipAddressBytes(ip);
    if (!bytes) {
      return fail(Code::kInvalidArgument, "not an IP address: \"" + ip.substr(0, 80) + "\"",
                  "ip_addresses");
    }
    if (std::ranges::find(seen, *bytes) != seen.end()) continue;
    seen.push_back(*bytes);
    spec.ip_addresses.push_back(ip);
  }
  spec.identity = profile.identity;
  spec.common_name = profile.identity.describe();
  return spec;
}

}  // namespace

Result<CertificateAuthority> CertificateAuthority::create(KeyType type,
                                                          std::string_view common_name,
                                                          seconds validity) {
  detail::ErrorQueueScope scope;
  const bool printable = std::ranges::all_of(common_name, [](char c) { return c >= 0x20 && c < 0x7f; });
  if (common_name.empty() || common_name.size() > 64 || !printable) {
    return fail(Code::kInvalidArgument,
                "the CA's common name must be 1 to 64 printable ASCII characters", "common_name");
  }
  if (auto s = checkValidity(validity); !s) return fail(s.error());
  auto key = PrivateKey::generate(type);
  if (!key) return fail(key.error());

  const TimePoint now = std::chrono::system_clock::now();
  detail::CertificateSpec spec;
  spec.subject_key = key->get();
  spec.signing_key = key->get();
  spec.common_name = std::string(common_name);
  spec.is_ca = true;
  spec.not_before = now - kCaBackdate;
  spec.not_after = now + validity;
  auto certificate = detail::buildCertificate(spec);
  if (!certificate) return fail(certificate.error());
  auto pem = detail::certificatePem(certificate->get());
  if (!pem) return fail(pem.error());
  auto digest = detail::certificateFingerprint(certificate->get());
  if (!digest) return fail(digest.error());
  return CertificateAuthority(std::move(*pem), std::move(*digest), std::move(*key));
}

Result<CertificateAuthority> CertificateAuthority::fromPem(std::string_view cert_pem,
                                                           std::string_view key_pem) {
  detail::ErrorQueueScope scope;
  auto certificate = detail::parseCertificate(cert_pem);
  if (!certificate) return fail(certificate.error());
  if (X509_check_ca(certificate->get()) != 1) {
    return fail(Code::kInvalidArgument,
                "not a CA certificate (basicConstraints CA:TRUE and keyCertSign required)");
  }
  auto key = PrivateKey::fromPem(key_pem);
  if (!key) return fail(key.error());
  if (X509_check_private_key(certificate->get(), key->get()) != 1) {
    ERR_clear_error();
    return fail(Code::kInvalidArgument, "the CA key does not belong to the CA certificate");
  }
  auto pem = detail::certificatePem(certificate->get());
  if (!pem) return fail(pem.error());
  auto digest = detail::certificateFingerprint(certificate->get());
  if (!digest) return fail(digest.error());
  return CertificateAuthority(std::move(*pem), std::move(*digest), std::move(*key));
}

Result<std::string> CertificateAuthority::issueFor(EVP_PKEY* public_key,
                                                   const CertProfile& profile) const {
  const TimePoint now = std::chrono::system_clock::now();
  auto spec = leafSpec(profile, now);
  if (!spec) return fail(spec.error());
  auto ca = detail::parseCertificate(cert_pem_);
  if (!ca) return fail(ca.error());
  auto ca_not_after = detail::timeOf(X509_get0_notAfter(ca->get()));
  if (!ca_not_after) return fail(ca_not_after.error());
  if (*ca_not_after <= now) {
    return fail(Code::kFailedPrecondition,
                "the CA expired at " + formatRfc3339(*ca_not_after) + ": create a new CA");
  }
  // A leaf never outlives its CA: it would not verify afterwards.
  spec->not_after = std::min(spec->not_after, *ca_not_after);
  spec->subject_key = public_key;
  spec->issuer = ca->get();
  spec->signing_key = key_.get();
  auto certificate = detail::buildCertificate(*spec);
  if (!certificate) return fail(certificate.error());
  auto pem = detail::certificatePem(certificate->get());
  if (!pem) return fail(pem.error());
  return *pem + cert_pem_;
}

Result<std::string> CertificateAuthority::issue(const PrivateKey& key,
                                                const CertProfile& profile) const {
  detail::ErrorQueueScope scope;
  return issueFor(key.get(), profile);
}

Result<std::string> CertificateAuthority::sign(std::string_view csr_pem,
                                               const CertProfile& profile) const {
  detail::ErrorQueueScope scope;
  auto bio = detail::readBio(csr_pem, "the CSR");
  if (!bio) return fail(bio.error());
  detail::X509ReqPtr request(PEM_read_bio_X509_REQ(bio->get(), nullptr, nullptr, nullptr));
  if (!request) return fail(detail::opensslError(Code::kInvalidArgument, "not a PEM CSR"));
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request.get());
  if (public_key == nullptr) {
    return fail(detail::opensslError(Code::kInvalidArgument, "the CSR holds no usable public key"));
  }
  if (auto type = detail::supportedKeyType(public_key); !type) return fail(type.error());
  if (X509_REQ_verify(request.get(), public_key) != 1) {
    return fail(detail::opensslError(Code::kInvalidArgument,
                                     "the CSR's signature does not verify with its public key"));
  }
  return issueFor(public_key, profile);
}

}  // namespace zp::tls
