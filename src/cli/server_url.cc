#include "cli/server_url.h"

#include <cctype>
#include <charconv>
#include <utility>

namespace zp::cli {
namespace {

std::unexpected<Error> invalid(std::string_view url, std::string_view why) {
  std::string message = "invalid server URL \"";
  message += url;
  message += "\": ";
  message += why;
  return fail(Code::kInvalidArgument, std::move(message), "server");
}

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool isHostnameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
}

// A DNS name or IPv4 address: [A-Za-z0-9-] labels joined by single dots.
bool isValidHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!isHostnameChar(c)) return false;
  }
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool isValidIpv6Literal(std::string_view host) {
  if (host.empty() || host.find(':') == std::string_view::npos) return false;
  for (char c : host) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' && c != '.') return false;
  }
  return true;
}

bool isPathChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) return true;
  return std::string_view("-._~/!$&'()*+,;=:@%").find(c) != std::string_view::npos;
}

// The path prefix after the authority: "" or "/a/b" without empty, "." or ".."
// segments; %-escapes must be complete.
Result<std::string> parsePath(std::string_view url, std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return std::string{};
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (!isPathChar(path[i])) return invalid(url, "path contains a character not allowed in URLs");
    if (path[i] == '%' &&
        (i + 2 >= path.size() || std::isxdigit(static_cast<unsigned char>(path[i + 1])) == 0 ||
         std::isxdigit(static_cast<unsigned char>(path[i + 2])) == 0)) {
      return invalid(url, "path has an incomplete %-escape");
    }
  }
  std::size_t start = 1;  // path[0] == '/'
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return invalid(url, "path has an empty, \".\" or \"..\" segment");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return std::string(path);
}

Result<std::uint16_t> parsePort(std::string_view url, std::string_view text) {
  if (text.empty()) return invalid(url, "port is empty");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.size() > 5 || value == 0 ||
      value > 65535) {
    return invalid(url, "port must be a number from 1 to 65535");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string ServerUrl::hostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string ServerUrl::toString() const {
  return (tls ? "https://" : "http://") + hostHeader() + path_prefix;
}

Result<ServerUrl> parseServerUrl(std::string_view url) {
  if (url.empty()) return invalid(url, "it is empty");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return fail(Code::kInvalidArgument,
                  "invalid server URL: it contains a space, control or non-ASCII character",
                  "server");
    }
  }
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return invalid(url, "expected https://host[:port][/prefix]");
  }
  std::string scheme = toLower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    return invalid(url, "only https:// and http:// URLs are supported");
  }

  std::string_view rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return invalid(url, "a query or fragment is not allowed");
  }
  std::size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path =
      path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return invalid(url, "user info (user@host) is not supported");
  }
  if (authority.empty()) return invalid(url, "host is empty");

  ServerUrl out;
  out.tls = scheme == "https";
  out.port = out.tls ? 443 : 80;
  std::string_view port_text;
  bool has_port = false;
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid(url, "unterminated [IPv6] host");
    std::string_view host = authority.substr(1, close - 1);
    if (!isValidIpv6Literal(host)) return invalid(url, "malformed [IPv6] host");
    out.host = toLower(host);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid(url, "unexpected text after [IPv6] host");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    std::size_t colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (!isValidHostname(host)) return invalid(url, "malformed host name");
    out.host = toLower(host);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
  }
  if (has_port) {
    auto port = parsePort(url, port_text);
    if (!port) return fail(port.error());
    out.port = *port;
  }
  auto prefix = parsePath(url, path);
  if (!prefix) return fail(prefix.error());
  out.path_prefix = std::move(*prefix);
  return out;
}

}  // namespace zp::cli
