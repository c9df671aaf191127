// Building X.509 certificates and CSRs (pki_internal.h buildCertificate,
// pki.h createCsr).

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <ctime>

#include "tls/pki.h"
#include "tls/pki_internal.h"

namespace zp::tls::detail {
namespace {

constexpr std::size_t kMaxCommonName = 64;  // ub-common-name, RFC 5280

Error internal(std::string what) { return opensslError(Code::kInternal, std::move(what)); }

// The signature digest for `key`: SHA-256 for EC; none for Ed25519, which
// hashes internally (EVP_DigestSign requires a NULL digest).
const EVP_MD* digestFor(EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

Result<X509NamePtr> makeName(std::string_view common_name) {
  X509NamePtr name(X509_NAME_new());
  const std::string_view cn = common_name.substr(0, kMaxCommonName);
  if (!name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("zoneplane"), -1, -1,
                                 0) != 1) {
    return fail(opensslError(Code::kInvalidArgument, "cannot build the subject name"));
  }
  return name;
}

Status setSerial(X509* certificate) {
  unsigned char bytes[16];
  BignumPtr serial;
  do {
    if (RAND_bytes(bytes, sizeof bytes) != 1) return fail(internal("no random serial"));
    serial.reset(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!serial) return fail(internal("cannot build the serial"));
  } while (BN_is_zero(serial.get()));
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate)) == nullptr) {
    return fail(internal("cannot set the serial"));
  }
  return ok();
}

Status setTime(ASN1_TIME* field, TimePoint when) {
  if (ASN1_TIME_set(field, std::chrono::system_clock::to_time_t(when)) == nullptr) {
    return fail(internal("cannot set the validity period"));
  }
  return ok();
}

// One extension from OpenSSL's configuration syntax; `value` is a constant of
// this file, never user input.
Status addExtension(X509* certificate, X509V3_CTX* context, int nid, const char* value) {
  ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, context, nid, value));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return fail(internal(std::string("cannot add extension ") + OBJ_nid2sn(nid)));
  }
  return ok();
}

// The subjectAltName entries, built as values (names are never parsed as
// configuration text).
Result<GeneralNamesPtr> altNames(const std::optional<Identity>& identity,
                                 const std::vector<std::string>& dns_names,
                                 const std::vector<std::string>& ip_addresses) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return fail(internal("cannot allocate subjectAltName"));
  if (identity) {
    if (auto s = addGeneralName(names.get(), GEN_URI, identity->uri()); !s) return fail(s.error());
  }
  for (const auto& dns : dns_names) {
    if (auto s = addGeneralName(names.get(), GEN_DNS, dns); !s) return fail(s.error());
  }
  for (const auto& ip : ip_addresses) {
    auto bytes = ipAddressBytes(ip);
    if (!bytes) return fail(Code::kInvalidArgument, "not an IP address: \"" + ip + "\"", "ip");
    if (auto s = addGeneralName(names.get(), GEN_IPADD, *bytes); !s) return fail(s.error());
  }
  return names;
}

Status addExtensions(X509* certificate, X509* issuer, const CertificateSpec& spec) {
  X509V3_CTX context{};
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  // The subject key identifier comes before the authority key identifier:
  // a self-signed certificate's AKI is read from its own SKI.
  const struct {
    int nid;
    const char* value;
  } fixed[] = {
      {NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_key_usage, spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  for (const auto& [nid, value] : fixed) {
    if (auto s = addExtension(certificate, &context, nid, value); !s) return s;
  }
  if (!spec.identity) return ok();

  const char* usage = spec.identity->kind == Identity::Kind::kClient ? "clientAuth"
                                                                      : "serverAuth,clientAuth";
  if (auto s = addExtension(certificate, &context, NID_ext_key_usage, usage); !s) return s;
  auto names = altNames(spec.identity, spec.dns_names, spec.ip_addresses);
  if (!names) return fail(names.error());
  if (X509_add1_ext_i2d(certificate, NID_subject_alt_name, names->get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return fail(internal("cannot add extension subjectAltName"));
  }
  return ok();
}

}  // namespace

Result<X509Ptr> buildCertificate(const CertificateSpec& spec) {
  X509Ptr certificate(X509_new());
  if (!certificate) return fail(internal("cannot allocate a certificate"));
  X509* cert = certificate.get();
  if (X509_set_version(cert, X509_VERSION_3) != 1) return fail(internal("cannot set the version"));
  if (auto s = setSerial(cert); !s) return fail(s.error());
  if (X509_set_pubkey(cert, spec.subject_key) != 1) {
    return fail(opensslError(Code::kInvalidArgument, "cannot use the subject's public key"));
  }
  auto subject = makeName(spec.common_name);
  if (!subject) return fail(subject.error());
  X509_NAME* issuer_name = spec.issuer ? X509_get_subject_name(spec.issuer) : subject->get();
  if (X509_set_subject_name(cert, subject->get()) != 1 ||
      X509_set_issuer_name(cert, issuer_name) != 1) {
    return fail(internal("cannot set the names"));
  }
  if (auto s = setTime(X509_getm_notBefore(cert), spec.not_before); !s) return fail(s.error());
  if (auto s = setTime(X509_getm_notAfter(cert), spec.not_after); !s) return fail(s.error());
  if (auto s = addExtensions(cert, spec.issuer ? spec.issuer : cert, spec); !s) {
    return fail(s.error());
  }
  if (X509_sign(cert, spec.signing_key, digestFor(spec.signing_key)) <= 0) {
    return fail(internal("cannot sign the certificate"));
  }
  return certificate;
}

}  // namespace zp::tls::detail

namespace zp::tls {

Result<std::string> createCsr(const PrivateKey& key, const Identity& identity) {
  detail::ErrorQueueScope scope;
  if (auto s = validateIdentity(identity); !s) return fail(s.error());
  detail::X509ReqPtr request(X509_REQ_new());
  if (!request) return fail(detail::internal("cannot allocate a CSR"));
  auto subject = detail::makeName(identity.describe());
  if (!subject) return fail(subject.error());
  auto names = detail::altNames(identity, {}, {});
  if (!names) return fail(names.error());
  detail::ExtensionPtr alt_names(X509V3_EXT_i2d(NID_subject_alt_name, 0, names->get()));
  using ExtensionStack = std::unique_ptr<STACK_OF(X509_EXTENSION), decltype([](auto* stack) {
                                           sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
                                         })>;
  ExtensionStack extensions(sk_X509_EXTENSION_new_null());
  if (!alt_names || !extensions || sk_X509_EXTENSION_push(extensions.get(), alt_names.get()) == 0) {
    return fail(detail::internal("cannot build the CSR's extensions"));
  }
  alt_names.release();  // owned by `extensions` now
  if (X509_REQ_set_version(request.get(), 0) != 1 ||
      X509_REQ_set_subject_name(request.get(), subject->get()) != 1 ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1 ||
      X509_REQ_add_extensions(request.get(), extensions.get()) != 1) {
    return fail(detail::internal("cannot build the CSR"));
  }
  if (X509_REQ_sign(request.get(), key.get(), detail::digestFor(key.get())) <= 0) {
    return fail(detail::internal("cannot sign the CSR"));
  }
  auto bio = detail::writeBio();
  if (!bio) return fail(bio.error());
  if (PEM_write_bio_X509_REQ(bio->get(), request.get()) != 1) {
    return fail(detail::internal("cannot encode the CSR"));
  }
  return detail::bioText(bio->get());
}

}  // namespace zp::tls
