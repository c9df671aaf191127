#include "cri/endpoint.h"

#include <string>
#include <utility>

namespace zp::cri {
namespace {
constexpr std::string_view kScheme = "unix://";

std::unexpected<Error> invalid(std::string_view endpoint, std::string_view why) {
  std::string message = "CRI endpoint \"";
  message += endpoint;
  message += "\": ";
  message += why;
  return fail(Code::kInvalidArgument, std::move(message), "endpoint");
}
}  // namespace

Result<std::string> socketPathFromEndpoint(std::string_view endpoint) {
  if (endpoint.find('\0') != std::string_view::npos) {
    return invalid("<contains NUL>", "contains a NUL byte");
  }
  if (!endpoint.starts_with(kScheme)) {
    return invalid(endpoint, "only unix:// endpoints are supported (e.g. unix:///run/x.sock)");
  }
  std::string_view path = endpoint.substr(kScheme.size());
  if (path.empty()) return invalid(endpoint, "socket path is empty");
  if (!path.starts_with('/')) {
    return invalid(endpoint, "socket path must be absolute (unix:///abs/path)");
  }
  if (path.size() > kMaxSocketPathLength) {
    return invalid(endpoint,
                   "socket path is longer than " + std::to_string(kMaxSocketPathLength) + " bytes");
  }
  if (path.back() == '/') return invalid(endpoint, "socket path names a directory");
  return std::string(path);
}

}  // namespace zp::cri
