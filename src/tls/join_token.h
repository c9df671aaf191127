#pragma once
// The join token's format (docs/architecture.md §9.1, §9.3), in one place
// for the server that makes and checks it and the agent that presents it:
//
//   zpjoin_<id>.<secret>.<ca sha256>
//
// `id` is 12 lowercase hex characters (public: names the token), `secret`
// 32 random bytes in unpadded base64url (43 characters), `ca sha256` the
// SHA-256 of the cluster CA certificate in lowercase hex (64 characters; the
// joining agent pins it). The id and secret rules are the API token's too
// (`zp_<id>.<secret>`). Values and pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::tls {

inline constexpr std::string_view kJoinTokenPrefix = "zpjoin_";
inline constexpr std::size_t kTokenIdLength = 12;
inline constexpr std::size_t kTokenSecretBytes = 32;
inline constexpr std::size_t kTokenSecretLength = 43;  // unpadded base64url of 32 bytes
inline constexpr std::size_t kSha256HexLength = 64;

// A token id: kTokenIdLength lowercase hex characters.
bool isTokenId(std::string_view text);
// A token secret: the unpadded base64url of kTokenSecretBytes bytes (the one
// text of those bytes: unused trailing bits zero).
bool isTokenSecret(std::string_view text);
// A SHA-256 in lowercase hex (kSha256HexLength characters).
bool isSha256Hex(std::string_view text);

// A join token split into its parts. Holds the secret: never log it.
struct JoinToken {
  std::string id;
  std::string secret;
  std::string ca_fingerprint;  // lowercase hex
  // "zpjoin_<id>.<secret>.<ca_fingerprint>": the token's text (the bearer).
  std::string text() const;
};

// kInvalidArgument (field "join-token") saying which part is wrong; the
// message never repeats the text or any part of it.
Result<JoinToken> parseJoinToken(std::string_view text);

}  // namespace zp::tls
