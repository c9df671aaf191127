#pragma once
// Text encodings of bytes for zoneplane's credentials: lowercase hex
// (certificate fingerprints, token ids, hashes) and unpadded base64url
// (token secrets). Pure functions; thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zp::tls {

// Two lowercase hex digits per byte.
std::string lowerHex(const unsigned char* data, std::size_t size);
// Whether every character is one of 0-9 a-f (true for "").
bool isLowerHex(std::string_view text);

// Unpadded base64url (RFC 4648 §5): 4 characters per 3 bytes, no '='.
std::string base64Url(const unsigned char* data, std::size_t size);
// The bytes of unpadded base64url; nullopt for any other character, a length
// that no byte count has, or unused trailing bits that are not zero (so every
// byte string has exactly one accepted text).
std::optional<std::vector<unsigned char>> fromBase64Url(std::string_view text);

}  // namespace zp::tls
