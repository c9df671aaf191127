#include "api/image_ref.h"

#include <charconv>

#include "api/chars.h"

namespace zp::api {
namespace {

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// path-component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool isPathComponent(std::string_view s) {
  std::size_t i = 0;
  const auto alnumRun = [&] {
    const std::size_t start = i;
    while (i < s.size() && isLowerAlnum(s[i])) ++i;
    return i > start;
  };
  if (!alnumRun()) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnumRun()) return false;
  }
  return true;
}

bool isTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !isWord(s.front())) return false;
  for (char c : s) {
    if (!isWord(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool isDigest(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto algorithm = s.substr(0, colon);
  const auto encoded = s.substr(colon + 1);
  for (char c : algorithm) {
    if (!isLowerAlnum(c) && c != '+' && c != '.' && c != '_' && c != '-') return false;
  }
  if (!isLowerAlnum(algorithm.front()) || !isLowerAlnum(algorithm.back())) return false;
  if (algorithm == "sha256" || algorithm == "sha512") {
    const std::size_t want = algorithm == "sha256" ? 64 : 128;
    if (encoded.size() != want) return false;
    for (char c : encoded) {
      if (!isHex(c)) return false;
    }
    return true;
  }
  if (encoded.size() < 32) return false;
  for (char c : encoded) {
    if (!isAlnum(c) && c != '=' && c != '_' && c != '-') return false;
  }
  return true;
}

Error imageError(std::string what) {
  return Error{Code::kInvalidArgument, "invalid image reference: " + std::move(what), "image"};
}

// port := [0-9]+ in 1..65535
bool isPort(std::string_view s) {
  // No leading zero: "05000" would be a second spelling of port 5000, which
  // policies and per-registry limits would then see as another registry.
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s.front() == '0')) return false;
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc{} && ptr == s.data() + s.size() && value >= 1 && value <= 65535;
}

// host := lowercase DNS name (components of [a-z0-9-], not starting or ending
// with '-') or an IPv6 literal in brackets.
bool isRegistryHost(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    if (host.size() < 4 || host.back() != ']') return false;
    for (char c : host.substr(1, host.size() - 2)) {
      if (!isHex(c) && c != ':' && c != '.') return false;
    }
    return true;
  }
  std::size_t start = 0;
  while (start <= host.size()) {
    auto dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const auto part = host.substr(start, dot - start);
    if (part.empty() || part.size() > 63 || !isLowerAlnum(part.front()) ||
        !isLowerAlnum(part.back())) {
      return false;
    }
    for (char c : part) {
      if (!isLowerAlnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

// Splits "host[:port]" (IPv6 in brackets) and checks both parts.
Status checkRegistry(std::string_view registry) {
  std::string_view host = registry;
  std::string_view port;
  const auto colon = registry.rfind(':');
  if (colon != std::string_view::npos && registry.find(']', colon) == std::string_view::npos) {
    host = registry.substr(0, colon);
    port = registry.substr(colon + 1);
    if (!isPort(port)) {
      return fail(imageError("registry port \"" + std::string(port) +
                             "\" must be a number from 1 to 65535 without leading zeros"));
    }
  }
  if (!isRegistryHost(host)) {
    return fail(imageError("registry host \"" + std::string(host) +
                           "\" must be a lowercase host name or a bracketed IPv6 address"));
  }
  return ok();
}

}  // namespace

std::string ImageReference::effectiveRegistry() const {
  return registry.empty() ? std::string(kDefaultRegistry) : registry;
}

std::string ImageReference::host() const {
  const std::string r = effectiveRegistry();
  if (!r.empty() && r.front() == '[') return r.substr(1, r.find(']') - 1);
  return r.substr(0, r.rfind(':'));
}

std::string registryOf(std::string_view image) {
  auto ref = parseImageReference(image);
  return ref ? ref->effectiveRegistry() : std::string("(unparsable reference)");
}

Result<ImageReference> parseImageReference(std::string_view image) {
  if (image.empty()) return fail(Code::kInvalidArgument, "image is required", "image");
  // Bounded before any parsing: name (255) + ':' tag (128) + '@' digest (~140).
  if (image.size() > 530) return fail(imageError("longer than any valid reference"));
  ImageReference ref;
  std::string_view rest = image;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    const auto digest = rest.substr(at + 1);
    if (!isDigest(digest)) {
      return fail(imageError("digest \"" + std::string(digest) +
                             "\" is not algorithm:hex (e.g. sha256:<64 hex digits>)"));
    }
    ref.digest = digest;
    rest = rest.substr(0, at);
  }
  const auto last_slash = rest.rfind('/');
  const auto tag_colon = rest.rfind(':');
  if (tag_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || tag_colon > last_slash)) {
    const auto tag = rest.substr(tag_colon + 1);
    if (!isTag(tag)) {
      return fail(imageError("tag \"" + std::string(tag) +
                             "\" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
    }
    ref.tag = tag;
    rest = rest.substr(0, tag_colon);
  }
  if (rest.empty()) return fail(imageError("missing repository name"));
  if (rest.size() > kMaxImageNameLength) {
    return fail(
        imageError("name is longer than " + std::to_string(kMaxImageNameLength) + " characters"));
  }
  std::string_view path = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    // The first component names a registry when it looks like a host: it has
    // a '.' or a ':', is "localhost", or has upper case (which no repository
    // component may have, so it can only be a misspelt host).
    const auto first = rest.substr(0, slash);
    if (first.find_first_of(".:[") != std::string_view::npos || first == "localhost" ||
        first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos) {
      if (auto s = checkRegistry(first); !s) return fail(s.error());
      ref.registry = first;
      path = rest.substr(slash + 1);
    }
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const auto component = path.substr(start, slash - start);
    if (!isPathComponent(component)) {
      return fail(imageError("repository component \"" + std::string(component) +
                             "\" must be lowercase letters and digits separated by '.', '_', '__' "
                             "or '-'"));
    }
    start = slash + 1;
  }
  ref.repository = path;
  return ref;
}

}  // namespace zp::api
