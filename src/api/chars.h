#pragma once
// The ASCII character classes of the names and image references api/
// validates (validate.cc, image_ref.cc). Internal to api/.

namespace zp::api {

constexpr bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
constexpr bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
constexpr bool isWord(char c) { return isAlnum(c) || c == '_'; }

}  // namespace zp::api
