// Hex and base64url (tls/encoding.h) and the join token's format
// (tls/join_token.h), shared by the server and the agent.

#include "tls/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tls/join_token.h"

namespace zp::tls {
namespace {

std::vector<unsigned char> bytesOf(std::string_view text) { return {text.begin(), text.end()}; }

TEST(EncodingTest, LowerHex) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(lowerHex(bytes, sizeof bytes), "000fa5ff");
  EXPECT_EQ(lowerHex(bytes, 0), "");
  EXPECT_TRUE(isLowerHex("0123456789abcdef"));
  EXPECT_TRUE(isLowerHex(""));
  EXPECT_FALSE(isLowerHex("0A"));
  EXPECT_FALSE(isLowerHex("0g"));
}

TEST(EncodingTest, Base64UrlRoundTripsWithoutPadding) {
  // RFC 4648 §10's vectors, in the URL alphabet and unpadded.
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"},
  };
  for (const auto& [plain, encoded] : vectors) {
    const auto bytes = bytesOf(plain);
    EXPECT_EQ(base64Url(bytes.data(), bytes.size()), encoded);
    auto decoded = fromBase64Url(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes) << encoded;
  }
}

TEST(EncodingTest, FromBase64UrlAcceptsOnlyTheCanonicalText) {
  for (std::string_view bad : {"Zg==", "Zm9v+", "Zm9v/", "Z", "Zm9vY", "Zh", "Zm9", "Zm8 "}) {
    EXPECT_FALSE(fromBase64Url(bad).has_value()) << bad;
  }
  EXPECT_TRUE(fromBase64Url("Zm8").has_value());
  EXPECT_FALSE(fromBase64Url("Zm9").has_value());  // trailing bits set: "Zm8" is the one text
}

const std::string kId = "0123456789ab";
const std::string kSecret(43, 'A');  // 32 zero bytes
const std::string kFingerprint(64, 'e');

TEST(JoinTokenTest, ParsesAndFormatsTheToken) {
  const std::string text = "zpjoin_" + kId + "." + kSecret + "." + kFingerprint;
  auto token = parseJoinToken(text);
  ASSERT_TRUE(token.has_value()) << token.error().toString();
  EXPECT_EQ(token->id, kId);
  EXPECT_EQ(token->secret, kSecret);
  EXPECT_EQ(token->ca_fingerprint, kFingerprint);
  EXPECT_EQ(token->text(), text);
  EXPECT_TRUE(isTokenId(kId));
  EXPECT_TRUE(isTokenSecret(kSecret));
  EXPECT_TRUE(isSha256Hex(kFingerprint));
}

TEST(JoinTokenTest, RefusesEveryOtherShapeWithoutRepeatingIt) {
  // 43 characters whose last one leaves a bit set that encodes no byte.
  const std::string secret = "s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tF";
  ASSERT_EQ(secret.size(), 43u);
  for (const std::string& bad : std::vector<std::string>{
           "zp_" + kId + "." + kSecret + "." + kFingerprint,                    // an API token
           "zpjoin_" + kId + "." + kSecret,                                     // no fingerprint
           "zpjoin_" + kId + "." + kSecret + "." + kFingerprint + ".x",         // a part too many
           "zpjoin_." + kSecret + "." + kFingerprint,                           // no id
           "zpjoin_0123456789AB." + kSecret + "." + kFingerprint,               // id upper case
           "zpjoin_0123456789a." + kSecret + "." + kFingerprint,                // id too short
           "zpjoin_" + kId + ".s3cr3t." + kFingerprint,                         // secret too short
           "zpjoin_" + kId + "." + std::string(42, 'A') + "/." + kFingerprint,  // not base64url
           "zpjoin_" + kId + "." + secret + "." + kFingerprint,                 // not canonical
           "zpjoin_" + kId + "." + kSecret + "." + std::string(64, 'E'),        // fingerprint upper
           "zpjoin_" + kId + "." + kSecret + "." + kFingerprint.substr(1),      // fingerprint short
       }) {
    auto refused = parseJoinToken(bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
    EXPECT_EQ(refused.error().field, "join-token");
    EXPECT_EQ(refused.error().message.find("s3c"), std::string::npos) << refused.error().message;
    EXPECT_EQ(refused.error().message.find("AAAA"), std::string::npos) << refused.error().message;
    EXPECT_EQ(refused.error().message.find(kId), std::string::npos) << refused.error().message;
  }
}

}  // namespace
}  // namespace zp::tls
