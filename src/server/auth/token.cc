#include "server/auth/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

#include "api/validate.h"
#include "tls/encoding.h"

namespace zp::server::auth {
namespace {

// Unpadded base64url of kSecretBytes bytes.
constexpr std::size_t kSecretLength = (kSecretBytes * 4 + 2) / 3;
constexpr std::size_t kSha256HexLength = 64;

using tls::base64Url;
using tls::fromBase64Url;
using tls::isLowerHex;

// SHA-256 fetched from the default provider once for the process: the
// one-shot SHA256() fetches it again on every call, which showed as half the
// cost of checking a token on every API request. EVP_MD objects may be
// shared between threads; this one is never freed.
const EVP_MD* sha256Method() {
  static const EVP_MD* const method = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return method;
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256(const unsigned char* bytes,
                                                       std::size_t size) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  const EVP_MD* method = sha256Method();
  if (method == nullptr || EVP_Digest(bytes, size, digest.data(), nullptr, method, nullptr) != 1) {
    SHA256(bytes, size, digest.data());  // the provider could not be fetched: the slow path
  }
  return digest;
}

Error malformed() { return Error{Code::kUnauthenticated, "malformed token", ""}; }

bool validSecret(std::string_view secret) {
  return secret.size() == kSecretLength && fromBase64Url(secret).has_value();
}

}  // namespace

Result<PresentedToken> parseToken(std::string_view text) {
  PresentedToken token;
  std::string_view rest;
  if (text.starts_with(kJoinTokenPrefix)) {
    token.join = true;
    rest = text.substr(kJoinTokenPrefix.size());
  } else if (text.starts_with(kTokenPrefix)) {
    rest = text.substr(kTokenPrefix.size());
  } else {
    return fail(malformed());
  }
  // id '.' secret ['.' ca]
  if (rest.size() < kTokenIdLength + 1 || rest[kTokenIdLength] != '.') return fail(malformed());
  const std::string_view id = rest.substr(0, kTokenIdLength);
  rest = rest.substr(kTokenIdLength + 1);
  std::string_view secret = rest;
  std::string_view ca;
  if (token.join) {
    const auto dot = rest.find('.');
    if (dot == std::string_view::npos) return fail(malformed());
    secret = rest.substr(0, dot);
    ca = rest.substr(dot + 1);
    if (ca.size() != kSha256HexLength || !isLowerHex(ca)) return fail(malformed());
  }
  if (!isLowerHex(id) || !validSecret(secret)) return fail(malformed());
  token.id = std::string(id);
  token.secret = std::string(secret);
  token.ca_sha256 = std::string(ca);
  return token;
}

bool secretMatches(std::string_view secret, std::string_view sha256_hex) {
  auto bytes = fromBase64Url(secret);
  if (!bytes || bytes->size() != kSecretBytes || sha256_hex.size() != kSha256HexLength) {
    return false;
  }
  const auto digest = sha256(bytes->data(), bytes->size());
  const std::string presented = tls::lowerHex(digest.data(), digest.size());
  OPENSSL_cleanse(bytes->data(), bytes->size());
  return CRYPTO_memcmp(presented.data(), sha256_hex.data(), kSha256HexLength) == 0;
}

Status validateTokenSpec(const TokenSpec& spec) {
  const bool join = spec.role == Role::kJoin;
  if (spec.name.empty() ? !join : !api::isDns1123Label(spec.name) || spec.name == kAnonymous) {
    return fail(Code::kInvalidArgument,
                spec.name.empty()
                    ? "a token of role " + std::string(roleName(spec.role)) + " needs a name"
                    : "token name \"" + spec.name.substr(0, 80) +
                          "\" must be a DNS-1123 label (lowercase letters, "
                          "digits and '-', at most 63) other than \"anonymous\"",
                "name");
  }
  if (spec.lifetime &&
      (*spec.lifetime <= std::chrono::seconds::zero() || *spec.lifetime > kMaxLifetime)) {
    return fail(Code::kInvalidArgument, "the lifetime must be positive and at most 3660 days",
                "expires_in");
  }
  if (join && (spec.ca_sha256.size() != kSha256HexLength || !isLowerHex(spec.ca_sha256))) {
    return fail(Code::kInvalidArgument,
                "a join token needs the cluster CA's SHA-256 (run `zoneplane-server ca init`)",
                "ca");
  }
  return ok();
}

Result<IssuedToken> issueToken(const TokenSpec& spec, TimePoint now) {
  if (auto s = validateTokenSpec(spec); !s) return fail(s.error());
  std::array<unsigned char, kTokenIdLength / 2> id{};
  std::array<unsigned char, kSecretBytes> secret{};
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1 ||
      RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return fail(Code::kInternal, "the random number generator failed");
  }
  const auto digest = sha256(secret.data(), secret.size());
  IssuedToken issued;
  store::TokenRecord& record = issued.record;
  record.id = tls::lowerHex(id.data(), id.size());
  record.name = spec.name;
  record.role = std::string(roleName(spec.role));
  record.secret_sha256 = tls::lowerHex(digest.data(), digest.size());
  record.created_at = now;
  auto lifetime = spec.lifetime;
  if (!lifetime && spec.role == Role::kJoin) lifetime = kDefaultJoinLifetime;
  if (lifetime) record.expires_at = now + *lifetime;
  const bool join = spec.role == Role::kJoin;
  issued.text = std::string(join ? kJoinTokenPrefix : kTokenPrefix) + record.id + "." +
                base64Url(secret.data(), secret.size());
  if (join) issued.text += "." + spec.ca_sha256;
  OPENSSL_cleanse(secret.data(), secret.size());
  return issued;
}

Result<std::chrono::seconds> parseLifetime(std::string_view text, const std::string& field) {
  auto invalid = [&] {
    return fail(Code::kInvalidArgument,
                field +
                    " must be a whole number and a unit (d, h, m, s), e.g. 90d, 12h, 30m, "
                    "3600s, at most 3660 days",
                field);
  };
  if (text.size() < 2) return invalid();
  std::int64_t unit = 0;
  switch (text.back()) {
    case 'd':
      unit = 86400;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    case 's':
      unit = 1;
      break;
    default:
      return invalid();
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size() || n < 1 ||
      n > kMaxLifetime.count() / unit) {
    return invalid();
  }
  return std::chrono::seconds(n * unit);
}

std::string redactTokens(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto next = text.find("zp", i);
    if (next == std::string_view::npos) break;
    out.append(text.substr(i, next - i));
    std::string_view rest = text.substr(next);
    std::size_t prefix = 0;
    if (rest.starts_with(kJoinTokenPrefix)) {
      prefix = kJoinTokenPrefix.size();
    } else if (rest.starts_with(kTokenPrefix)) {
      prefix = kTokenPrefix.size();
    }
    const std::size_t id_end = prefix + kTokenIdLength;
    if (prefix == 0 || rest.size() <= id_end || rest[id_end] != '.' ||
        !isLowerHex(rest.substr(prefix, kTokenIdLength))) {
      out.append("zp");
      i = next + 2;
      continue;
    }
    out.append(rest.substr(0, id_end + 1));
    out.append("<redacted>");
    // The secret (and a join token's CA hash) runs to the next separator.
    std::size_t end = id_end + 1;
    while (end < rest.size() && rest[end] != '/' && rest[end] != '?' && rest[end] != '&' &&
           rest[end] != ' ' && rest[end] != '"') {
      ++end;
    }
    i = next + end;
  }
  if (i < text.size()) out.append(text.substr(i));
  return out;
}

Principal principalOf(const store::TokenRecord& token) {
  Principal principal;
  principal.token_id = token.id;
  principal.role = parseRole(token.role);
  principal.name =
      principal.role == Role::kJoin || token.name.empty() ? "join:" + token.id : token.name;
  return principal;
}

}  // namespace zp::server::auth
