#pragma once
// OCI image references (the distribution grammar, [registry/]path[:tag][@digest]),
// parsed strictly so that anything accepted here is pullable as written.
// Pure functions; no I/O.

#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::api {

inline constexpr std::size_t kMaxImageNameLength = 255;
// The registry an image reference without one is pulled from.
inline constexpr std::string_view kDefaultRegistry = "docker.io";

struct ImageReference {
  std::string registry;    // "host" or "host:port" as written; empty when none was given
  std::string repository;  // lowercase path components joined by '/'
  std::string tag;         // empty when absent
  std::string digest;      // "algorithm:hex", empty when absent

  // The registry host[:port] the image is pulled from (kDefaultRegistry when
  // the reference names none).
  std::string effectiveRegistry() const;
  // The host part of effectiveRegistry(), without the port or IPv6 brackets.
  std::string host() const;
};

// Errors are kInvalidArgument with field "image" and say which part is wrong:
// a registry host must be lowercase letters, digits, '-' and '.' (or an IPv6
// literal in brackets) with an optional port from 1 to 65535; repository
// components are lowercase; the name is at most 255 characters.
Result<ImageReference> parseImageReference(std::string_view image);

// The registry `image` is pulled from (effectiveRegistry()), or
// "(unparsable reference)" when it does not parse.
std::string registryOf(std::string_view image);

}  // namespace zp::api
