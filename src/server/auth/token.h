#pragma once
// API tokens (docs/architecture.md §9.3, §9.1):
//   zp_<id>.<secret>                   an API token of role viewer, operator or admin
//   zpjoin_<id>.<secret>.<ca sha256>   a one-time join token
// `id` is 12 lowercase hex characters (public: the lookup key), `secret` 32
// random bytes (RAND_bytes) in unpadded base64url, `ca sha256` the SHA-256 of
// the cluster CA certificate in lowercase hex (the joining agent pins it).
// Only the SHA-256 of the secret's bytes is kept; a presented secret is
// hashed and compared in constant time. Values and pure functions;
// thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time.h"
#include "server/auth/principal.h"
#include "server/auth/roles.h"
#include "store/store.h"

namespace zp::server::auth {

inline constexpr std::string_view kTokenPrefix = "zp_";
inline constexpr std::string_view kJoinTokenPrefix = "zpjoin_";
inline constexpr std::size_t kTokenIdLength = 12;
inline constexpr std::size_t kSecretBytes = 32;
// A join token created without a lifetime expires after this long.
inline constexpr std::chrono::seconds kDefaultJoinLifetime{std::chrono::hours(1)};
// The longest lifetime a token may be given.
inline constexpr std::chrono::seconds kMaxLifetime{std::chrono::hours(24 * 3660)};

// A token as a client presented it, split into its parts. It holds the
// secret: never log, store or echo it.
struct PresentedToken {
  bool join = false;
  std::string id;
  std::string secret;     // unpadded base64url, as presented
  std::string ca_sha256;  // join tokens only
};

// Splits `text`; kUnauthenticated "malformed token" for anything that is not
// exactly one of the two forms. The message never repeats the text.
Result<PresentedToken> parseToken(std::string_view text);

// Whether `secret` (unpadded base64url of kSecretBytes bytes) hashes to
// `sha256_hex`. The hashes are compared with CRYPTO_memcmp.
bool secretMatches(std::string_view secret, std::string_view sha256_hex);

// What a new token is to be.
struct TokenSpec {
  std::string name;  // DNS-1123 label, not "anonymous"; may be "" for a join token only
  Role role = Role::kViewer;
  std::optional<std::chrono::seconds> lifetime;  // none: never expires (join: the default)
  std::string ca_sha256;  // join tokens: the CA certificate's SHA-256, 64 lowercase hex
};

// kInvalidArgument naming the field ("name", "role", "expires_in", "ca").
Status validateTokenSpec(const TokenSpec& spec);

// A new token: its record (the hash only) and its text, shown once.
struct IssuedToken {
  store::TokenRecord record;
  std::string text;
};
// Validates `spec` and draws a new id and secret (kInternal when the random
// generator fails). The caller checks that id and name are not taken.
Result<IssuedToken> issueToken(const TokenSpec& spec, TimePoint now);

// "90d", "12h", "30m", "3600s": a whole number from 1 and a unit, at most
// kMaxLifetime. kInvalidArgument naming `field` otherwise.
Result<std::chrono::seconds> parseLifetime(std::string_view text,
                                           const std::string& field = "expires_in");

// `text` with the secret part of anything shaped like a token (a prefix, an
// id and '.') cut out: for request paths that end up in logs and the audit
// log when a client put a token where it does not belong.
std::string redactTokens(std::string_view text);

// Who a token speaks for: its name, or "join:<id>" for a join token.
Principal principalOf(const store::TokenRecord& token);

}  // namespace zp::server::auth
