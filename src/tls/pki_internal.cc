#include "tls/pki_internal.h"

#include <arpa/inet.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <climits>
#include <ctime>

#include "tls/encoding.h"

namespace zp::tls::detail {

Error opensslError(Code code, std::string what) {
  std::string reasons;
  while (unsigned long error = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(error, text, sizeof text);
    if (!reasons.empty()) reasons += "; ";
    reasons += text;
  }
  if (!reasons.empty()) what += ": " + reasons;
  return Error{code, std::move(what), {}};
}

Result<BioPtr> readBio(std::string_view data, std::string_view what) {
  if (data.empty()) return fail(Code::kInvalidArgument, std::string(what) + " is empty");
  if (data.size() > kMaxPemBytes || data.size() > static_cast<std::size_t>(INT_MAX)) {
    return fail(Code::kInvalidArgument, std::string(what) + " is larger than 1 MiB");
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return fail(opensslError(Code::kInternal, "cannot allocate a memory BIO"));
  return bio;
}

Result<BioPtr> writeBio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return fail(opensslError(Code::kInternal, "cannot allocate a memory BIO"));
  return bio;
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(size));
}

Result<X509Ptr> parseCertificate(std::string_view pem) {
  auto bio = readBio(pem, "the certificate");
  if (!bio) return fail(bio.error());
  X509Ptr certificate(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  if (!certificate) {
    return fail(opensslError(Code::kInvalidArgument, "not a PEM certificate"));
  }
  return certificate;
}

Result<std::vector<X509Ptr>> parseCertificates(std::string_view pem) {
  auto bio = readBio(pem, "the certificate");
  if (!bio) return fail(bio.error());
  std::vector<X509Ptr> certificates;
  while (X509* certificate = PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate);
  }
  // The end of the input is queued as an error: the caller's ErrorQueueScope drops it.
  if (certificates.empty()) return fail(Code::kInvalidArgument, "not a PEM certificate");
  return certificates;
}

Result<std::string> certificatePem(X509* certificate) {
  auto bio = writeBio();
  if (!bio) return fail(bio.error());
  if (PEM_write_bio_X509(bio->get(), certificate) != 1) {
    return fail(opensslError(Code::kInternal, "cannot encode the certificate"));
  }
  return bioText(bio->get());
}

Result<std::string> certificateFingerprint(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &size) != 1) {
    return fail(opensslError(Code::kInternal, "cannot hash the certificate"));
  }
  return lowerHex(digest, size);
}

Result<TimePoint> timeOf(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return fail(opensslError(Code::kInvalidArgument, "unreadable certificate time"));
  }
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

Result<KeyType> supportedKeyType(const EVP_PKEY* key) {
  if (key != nullptr && EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return KeyType::kEd25519;
  if (key != nullptr && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[80] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1) {
      int nid = OBJ_sn2nid(group);
      if (nid == NID_undef) nid = EC_curve_nist2nid(group);
      if (nid == NID_X9_62_prime256v1) return KeyType::kEcP256;
    }
    ERR_clear_error();
    return fail(Code::kInvalidArgument,
                std::string("unsupported EC curve \"") + group + "\": only P-256 is accepted");
  }
  return fail(Code::kInvalidArgument,
              "unsupported key type: only EC P-256 and Ed25519 keys are accepted");
}

namespace {
bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool isHostLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (!isAlnum(label.front()) || !isAlnum(label.back())) return false;
  for (char c : label) {
    if (!isAlnum(c) && c != '-') return false;
  }
  return true;
}
}  // namespace

bool isDnsLabel(std::string_view name) {
  if (!isHostLabel(name)) return false;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

Status addGeneralName(GENERAL_NAMES* names, int type, std::string_view value) {
  const int asn1_type = type == GEN_IPADD ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING;
  Asn1StringPtr text(ASN1_STRING_type_new(asn1_type));
  GeneralNamePtr name(GENERAL_NAME_new());
  if (!text || !name ||
      ASN1_STRING_set(text.get(), value.data(), static_cast<int>(value.size())) != 1) {
    return fail(opensslError(Code::kInternal, "cannot build a subjectAltName entry"));
  }
  GENERAL_NAME_set0_value(name.get(), type, text.release());
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) {
    return fail(opensslError(Code::kInternal, "cannot build a subjectAltName entry"));
  }
  name.release();  // owned by `names` now
  return ok();
}

std::optional<std::string> ipAddressBytes(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string terminated(text);
  unsigned char bytes[16];
  if (inet_pton(AF_INET, terminated.c_str(), bytes) == 1) {
    return std::string(reinterpret_cast<const char*>(bytes), 4);
  }
  if (inet_pton(AF_INET6, terminated.c_str(), bytes) == 1) {
    return std::string(reinterpret_cast<const char*>(bytes), 16);
  }
  return std::nullopt;
}

}  // namespace zp::tls::detail

namespace zp::tls {

bool isDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  while (true) {
    std::size_t dot = name.find('.');
    if (!detail::isHostLabel(name.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

}  // namespace zp::tls
