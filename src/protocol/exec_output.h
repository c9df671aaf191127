#pragma once
// What an exec's output may carry in a protocol reply (docs/architecture.md
// §3): valid UTF-8 only, at most a given number of bytes. Pure functions;
// thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace zp::protocol {

struct CappedText {
  std::string text;        // valid UTF-8, at most the cap in bytes
  bool truncated = false;  // `raw` had more than `text` holds
};

// `raw` (any bytes) as valid UTF-8 of at most `max_bytes` bytes: each byte
// that does not belong to a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points past U+10FFFF included) becomes U+FFFD, and the
// text ends before the first character that would not fit whole. Reads no
// more of `raw` than the cap needs, whatever its size.
CappedText capUtf8(std::string_view raw, std::size_t max_bytes);

}  // namespace zp::protocol
