// Identities, key type names and reading certificates (pki.h). Keys:
// pki_keys.cc; building certificates and CSRs: pki_certs.cc; the CA:
// pki_ca.cc; files: pki_files.cc.

#include "tls/pki.h"

#include <arpa/inet.h>

#include "tls/pki_internal.h"

namespace zp::tls {
namespace {

constexpr std::string_view kUriPrefix = "spiffe://zoneplane/";

std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  out += text.substr(0, kMax);
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

std::string ipText(const ASN1_OCTET_STRING* address) {
  const unsigned char* bytes = ASN1_STRING_get0_data(address);
  const int size = ASN1_STRING_length(address);
  char text[INET6_ADDRSTRLEN] = {};
  if (size == 4 && inet_ntop(AF_INET, bytes, text, sizeof text) != nullptr) return text;
  if (size == 16 && inet_ntop(AF_INET6, bytes, text, sizeof text) != nullptr) return text;
  return "<" + std::to_string(size) + "-byte address>";
}

std::string stringOf(const ASN1_STRING* text) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                     static_cast<std::size_t>(ASN1_STRING_length(text)));
}

// DNS and IP SANs into `info`.
void readAltNames(X509* certificate, CertInfo& info) {
  detail::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      info.dns_names.push_back(stringOf(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      info.ip_addresses.push_back(ipText(name->d.iPAddress));
    }
  }
}

}  // namespace

std::string_view keyTypeName(KeyType type) {
  return type == KeyType::kEd25519 ? "ed25519" : "ec-p256";
}

std::optional<KeyType> parseKeyType(std::string_view name) {
  if (name == "ec-p256") return KeyType::kEcP256;
  if (name == "ed25519") return KeyType::kEd25519;
  return std::nullopt;
}

std::string Identity::uri() const { return std::string(kUriPrefix) + describe(); }

std::string Identity::describe() const {
  switch (kind) {
    case Kind::kServer:
      return "server";
    case Kind::kNode:
      return "node/" + name;
    case Kind::kClient:
      return "client/" + name;
  }
  return "server";
}

Result<Identity> Identity::fromUri(std::string_view uri) {
  auto invalid = [&] {
    return fail(Code::kInvalidArgument,
                "not a zoneplane identity: " + quoted(uri) +
                    " (expected spiffe://zoneplane/server, .../node/ID or .../client/NAME)");
  };
  if (!uri.starts_with(kUriPrefix)) return invalid();
  std::string_view rest = uri.substr(kUriPrefix.size());
  if (rest == "server") return Identity::server();
  Identity identity;
  if (rest.starts_with("node/")) {
    identity = Identity::node(std::string(rest.substr(5)));
  } else if (rest.starts_with("client/")) {
    identity = Identity::client(std::string(rest.substr(7)));
  } else {
    return invalid();
  }
  if (!detail::isDnsLabel(identity.name)) return invalid();
  return identity;
}

Status validateIdentity(const Identity& identity) {
  if (identity.kind == Identity::Kind::kServer) {
    if (!identity.name.empty()) {
      return fail(Code::kInvalidArgument, "the server identity has no name", "identity");
    }
    return ok();
  }
  if (!detail::isDnsLabel(identity.name)) {
    const char* what = identity.kind == Identity::Kind::kNode ? "node id " : "client name ";
    return fail(Code::kInvalidArgument,
                what + quoted(identity.name) +
                    " must be a DNS-1123 label: lowercase letters, digits and '-', starting and "
                    "ending with a letter or digit, at most 63 characters",
                "identity");
  }
  return ok();
}

Result<CertInfo> inspectCertificate(std::string_view pem) {
  detail::ErrorQueueScope scope;
  auto certificate = detail::parseCertificate(pem);
  if (!certificate) return fail(certificate.error());
  X509* cert = certificate->get();

  CertInfo info;
  // A certificate naming no identity, a malformed one or more than one
  // speaks for none.
  if (auto identity = detail::certificateIdentity(cert); identity) info.identity = *identity;
  readAltNames(cert, info);
  auto subject = detail::writeBio();
  if (!subject) return fail(subject.error());
  if (X509_NAME_print_ex(subject->get(), X509_get_subject_name(cert), 0,
                         XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    return fail(detail::opensslError(Code::kInvalidArgument, "unreadable certificate subject"));
  }
  info.subject = detail::bioText(subject->get());
  auto not_before = detail::timeOf(X509_get0_notBefore(cert));
  if (!not_before) return fail(not_before.error());
  auto not_after = detail::timeOf(X509_get0_notAfter(cert));
  if (!not_after) return fail(not_after.error());
  info.not_before = *not_before;
  info.not_after = *not_after;
  auto digest = detail::certificateFingerprint(cert);
  if (!digest) return fail(digest.error());
  info.fingerprint = std::move(*digest);
  info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  return info;
}

Result<std::string> fingerprint(std::string_view cert_pem) {
  detail::ErrorQueueScope scope;
  auto certificate = detail::parseCertificate(cert_pem);
  if (!certificate) return fail(certificate.error());
  return detail::certificateFingerprint(certificate->get());
}

namespace detail {

Result<std::optional<Identity>> certificateIdentity(X509* certificate) {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  std::optional<Identity> found;
  if (!names) return found;
  int identities = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const std::string uri = stringOf(name->d.uniformResourceIdentifier);
    if (!uri.starts_with(kUriPrefix)) continue;
    if (++identities > 1) {
      return fail(Code::kInvalidArgument, "the certificate names more than one zoneplane identity");
    }
    auto identity = Identity::fromUri(uri);
    if (!identity) return fail(identity.error());
    found = std::move(*identity);
  }
  return found;
}

}  // namespace detail

}  // namespace zp::tls
