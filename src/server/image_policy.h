#pragma once
// Which registries images may come from. Admission refuses an image outside
// the policy, so a reference cannot point the node's runtime at an arbitrary
// host:port (the agent itself, a metadata service, a local admin port).
// Values and pure functions; immutable after creation.
//
// Configuration: allowed_registries = ["PATTERN", ...] in the server TOML.
// A pattern is
//   "registry.example.com"    that host, with no port in the reference
//   "registry.example.com:5000"  that host and port
//   "registry.example.com:*"  that host with any port or none
//   "*.example.com"           any host below example.com (not example.com
//                             itself); ":PORT" and ":*" as above
//   "127.0.0.1:5000", "[fd00::1]:5000"  IP literals (IPv6 in brackets)
//   "*"                       any registry at all (turns the check off)
// Hosts are lowercase. A reference without a registry ("busybox:1.36") is
// pulled from docker.io, so the pattern "docker.io" allows it.
//
// Without allowed_registries, the default allows every registry except local
// ones: a host that is "localhost" (or below it), or an IP literal that is a
// loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, fe80::/10) or
// unspecified (0.0.0.0/8, ::) address, IPv4-mapped IPv6 forms and the
// numeric spellings inet_aton accepts ("127.1", "2130706433") included. The
// default looks at the name only: a DNS name that resolves to a loopback
// address is not caught, so production servers should list their registries.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/image_ref.h"
#include "common/status.h"

namespace zp::server {

struct RegistryPattern {
  std::string text;                   // as configured
  bool any_registry = false;          // "*"
  bool subdomains = false;            // "*.domain": host must end in "." + host
  std::string host;                   // lowercase; IPv6 without brackets
  bool any_port = false;              // ":*"
  std::optional<std::uint16_t> port;  // unset (and !any_port): the reference names no port

  // Does the registry "host[:port]" of an image (host() and port of an
  // ImageReference) match?
  bool matches(std::string_view image_host, std::optional<std::uint16_t> image_port) const;
};

// kInvalidArgument (field "allowed_registries") saying what is wrong.
Result<RegistryPattern> parseRegistryPattern(std::string_view text);

// Why `host` (a registry host without port or brackets) is local, e.g.
// "a loopback address"; nullopt when it is not.
std::optional<std::string> localRegistryKind(std::string_view host);

class ImagePolicy {
 public:
  // The default policy (no allowed_registries).
  ImagePolicy() = default;
  // An explicit list; it must not be empty. Errors name the bad pattern.
  static Result<ImagePolicy> create(const std::vector<std::string>& patterns);

  // ok() when `image` may be pulled; otherwise kInvalidArgument, field
  // "image", naming the registry and the rule.
  Status check(const api::ImageReference& image) const;

  bool isDefault() const { return !explicit_; }
  // The configured patterns (empty for the default policy).
  std::vector<std::string> patterns() const;

 private:
  bool explicit_ = false;
  std::vector<RegistryPattern> patterns_;
};

}  // namespace zp::server
