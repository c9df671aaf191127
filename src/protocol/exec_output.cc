#include "protocol/exec_output.h"

namespace zp::protocol {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0
// when its first byte does not begin one (RFC 3629 table: no overlongs, no
// surrogates, nothing past U+10FFFF).
std::size_t sequenceLength(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

CappedText capUtf8(std::string_view raw, std::size_t max_bytes) {
  CappedText out;
  std::size_t i = 0;
  while (i < raw.size()) {
    const std::size_t n = sequenceLength(raw.substr(i));
    const std::string_view piece = n == 0 ? kReplacement : raw.substr(i, n);
    if (out.text.size() + piece.size() > max_bytes) {
      out.truncated = true;
      break;
    }
    out.text += piece;
    i += n == 0 ? 1 : n;
  }
  return out;
}

}  // namespace zp::protocol
