#include "server/image_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace zp::server {
namespace {

constexpr std::string_view kField = "allowed_registries";

std::unexpected<Error> badPattern(std::string_view text, const std::string& why) {
  return fail(Code::kInvalidArgument,
              "allowed_registries: \"" + std::string(text.substr(0, 100)) + "\" " + why,
              std::string(kField));
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Lowercase DNS name: labels of [a-z0-9-], not starting or ending with '-'.
bool isDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    auto dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const auto label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || !isLowerAlnum(label.front()) ||
        !isLowerAlnum(label.back())) {
      return false;
    }
    for (char c : label) {
      if (!isLowerAlnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

std::optional<std::array<unsigned char, 16>> parseIpv6(std::string_view host) {
  std::array<unsigned char, 16> out{};
  const std::string text(host);
  if (::inet_pton(AF_INET6, text.c_str(), out.data()) != 1) return std::nullopt;
  return out;
}

// Any spelling the C library would turn into an IPv4 address ("127.1",
// "2130706433", "0x7f.1"), since that is what a resolver may do with it.
std::optional<std::array<unsigned char, 4>> parseIpv4Loose(std::string_view host) {
  const std::string text(host);
  in_addr addr{};
  if (::inet_aton(text.c_str(), &addr) == 0) return std::nullopt;
  std::array<unsigned char, 4> out{};
  std::memcpy(out.data(), &addr.s_addr, 4);  // network byte order
  return out;
}

std::optional<std::string> ipv4Kind(const std::array<unsigned char, 4>& a) {
  if (a[0] == 127) return "a loopback address";
  if (a[0] == 169 && a[1] == 254) return "a link-local address";
  if (a[0] == 0) return "an unspecified address";
  if (a[0] >= 224) return "a multicast or broadcast address";
  return std::nullopt;
}

// The port of "host:port" / "[v6]:port"; nullopt when none is written.
std::optional<std::uint16_t> portOf(std::string_view registry) {
  const auto colon = registry.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  if (registry.find(']', colon) != std::string_view::npos) return std::nullopt;  // inside [v6]
  unsigned value = 0;
  const auto digits = registry.substr(colon + 1);
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

bool sameHost(std::string_view a, std::string_view b) {
  if (a == b) return true;
  // IPv6 literals have many spellings.
  auto x = parseIpv6(a);
  auto y = parseIpv6(b);
  return x && y && *x == *y;
}

}  // namespace

std::optional<std::string> localRegistryKind(std::string_view host) {
  // The names Debian's /etc/hosts and RFC 6761 give the local host.
  if (host == "localhost" || host.ends_with(".localhost") || host == "localhost.localdomain" ||
      host == "ip6-localhost" || host == "ip6-loopback") {
    return "the local host name";
  }
  if (host.find(':') != std::string_view::npos) {
    auto a = parseIpv6(host);
    if (!a) return std::nullopt;
    const auto& b = *a;
    bool zero12 = true;
    for (int i = 0; i < 12; ++i) zero12 = zero12 && b[i] == 0;
    const bool mapped =
        b[10] == 0xff && b[11] == 0xff &&
        std::all_of(b.begin(), b.begin() + 10, [](unsigned char c) { return c == 0; });
    if (zero12 && b[12] == 0 && b[13] == 0 && b[14] == 0) {
      if (b[15] == 0) return "an unspecified address";
      if (b[15] == 1) return "a loopback address";
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";
    if (b[0] == 0xff) return "a multicast address";
    if (mapped || zero12) return ipv4Kind({b[12], b[13], b[14], b[15]});
    return std::nullopt;
  }
  if (auto a = parseIpv4Loose(host)) return ipv4Kind(*a);
  return std::nullopt;
}

bool RegistryPattern::matches(std::string_view image_host,
                              std::optional<std::uint16_t> image_port) const {
  if (any_registry) return true;
  if (!any_port && port != image_port) return false;
  if (subdomains) {
    return image_host.size() > host.size() + 1 && image_host.ends_with(host) &&
           image_host[image_host.size() - host.size() - 1] == '.';
  }
  return sameHost(image_host, host);
}

Result<RegistryPattern> parseRegistryPattern(std::string_view text) {
  RegistryPattern pattern;
  pattern.text = std::string(text);
  if (text == "*") {
    pattern.any_registry = true;
    return pattern;
  }
  if (text.empty()) return badPattern(text, "is empty");
  std::string_view host = text;
  // Split off ":port" / ":*" (a ':' inside brackets belongs to an IPv6 host).
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find(']', colon) == std::string_view::npos) {
    if (text.front() != '[' && text.find(':') != colon) {
      return badPattern(text, "has an IPv6 address that is not in brackets ([::1]:5000)");
    }
    const auto port = text.substr(colon + 1);
    host = text.substr(0, colon);
    if (port == "*") {
      pattern.any_port = true;
    } else {
      unsigned value = 0;
      const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value < 1 ||
          value > 65535) {
        return badPattern(text, "has a port that is not a number from 1 to 65535 or \"*\"");
      }
      pattern.port = static_cast<std::uint16_t>(value);
    }
  }
  if (host.starts_with("*.")) {
    pattern.subdomains = true;
    host.remove_prefix(2);
  }
  if (!host.empty() && host.front() == '[') {
    if (pattern.subdomains || host.back() != ']' || !parseIpv6(host.substr(1, host.size() - 2))) {
      return badPattern(text, "has a malformed IPv6 address (write it as [fd00::1]:5000)");
    }
    pattern.host = std::string(host.substr(1, host.size() - 2));
    return pattern;
  }
  if (!isDnsName(host) || host.find('*') != std::string_view::npos) {
    return badPattern(text,
                      "must be HOST, HOST:PORT or HOST:* where HOST is a lowercase host name, an "
                      "IPv4 address, a bracketed IPv6 address or *.DOMAIN");
  }
  pattern.host = std::string(host);
  return pattern;
}

Result<ImagePolicy> ImagePolicy::create(const std::vector<std::string>& patterns) {
  if (patterns.empty()) {
    return fail(Code::kInvalidArgument,
                "allowed_registries must not be empty (leave it out for the default: any "
                "registry that is not a local address)",
                std::string(kField));
  }
  ImagePolicy policy;
  policy.explicit_ = true;
  for (const auto& text : patterns) {
    auto pattern = parseRegistryPattern(text);
    if (!pattern) return fail(pattern.error());
    policy.patterns_.push_back(std::move(*pattern));
  }
  return policy;
}

std::vector<std::string> ImagePolicy::patterns() const {
  std::vector<std::string> out;
  for (const auto& p : patterns_) out.push_back(p.text);
  return out;
}

Status ImagePolicy::check(const api::ImageReference& image) const {
  const std::string registry = image.effectiveRegistry();
  const std::string host = image.host();
  const auto port = portOf(registry);
  if (!explicit_) {
    if (auto kind = localRegistryKind(host)) {
      return fail(Code::kInvalidArgument,
                  "image registry \"" + registry + "\" is not allowed: it is " + *kind +
                      " (the server's default image policy refuses loopback, link-local and "
                      "unspecified addresses; list the registry in allowed_registries to allow it)",
                  "image");
    }
    return ok();
  }
  for (const auto& pattern : patterns_) {
    if (pattern.matches(host, port)) return ok();
  }
  std::string allowed;
  for (const auto& pattern : patterns_) allowed += (allowed.empty() ? "" : ", ") + pattern.text;
  return fail(Code::kInvalidArgument,
              "image registry \"" + registry +
                  "\" is not allowed by the server's image policy (allowed_registries: " + allowed +
                  ")",
              "image");
}

}  // namespace zp::server
