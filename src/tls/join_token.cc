#include "tls/join_token.h"

#include "tls/encoding.h"

namespace zp::tls {

bool isTokenId(std::string_view text) { return text.size() == kTokenIdLength && isLowerHex(text); }

bool isTokenSecret(std::string_view text) {
  if (text.size() != kTokenSecretLength) return false;
  const auto bytes = fromBase64Url(text);
  return bytes && bytes->size() == kTokenSecretBytes;
}

bool isSha256Hex(std::string_view text) {
  return text.size() == kSha256HexLength && isLowerHex(text);
}

std::string JoinToken::text() const {
  return std::string(kJoinTokenPrefix) + id + "." + secret + "." + ca_fingerprint;
}

Result<JoinToken> parseJoinToken(std::string_view text) {
  const auto invalid = [](const std::string& why) {
    return fail(Code::kInvalidArgument, "the join token is malformed: " + why, "join-token");
  };
  if (!text.starts_with(kJoinTokenPrefix)) return invalid("it does not start with \"zpjoin_\"");
  text.remove_prefix(kJoinTokenPrefix.size());
  const auto first = text.find('.');
  const auto second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos || text.find('.', second + 1) != std::string_view::npos) {
    return invalid("want zpjoin_<id>.<secret>.<CA fingerprint>");
  }
  const auto id = text.substr(0, first);
  const auto secret = text.substr(first + 1, second - first - 1);
  const auto fingerprint = text.substr(second + 1);
  if (!isTokenId(id)) return invalid("its id is not 12 lowercase hexadecimal characters");
  if (!isTokenSecret(secret)) {
    return invalid("its secret is not 43 base64url characters (32 bytes)");
  }
  if (!isSha256Hex(fingerprint)) {
    return invalid("its CA fingerprint is not 64 lowercase hexadecimal characters");
  }
  return JoinToken{std::string(id), std::string(secret), std::string(fingerprint)};
}

}  // namespace zp::tls
