#pragma once
// The HTTP seam of the CLI: one request in, one response out, or a response
// whose body is read line by line as it arrives (logs --follow, watches). The
// Beast implementation lives in beast_http_client.h; tests may substitute
// fakes.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::cli {

enum class HttpMethod { kGet, kPost, kDelete };

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string target;  // origin-form: "/prefix/workloads?state=Running"
  std::string body;    // sent as application/json when non-empty (and always for POST)
  bool operator==(const HttpRequest&) const = default;
};

struct HttpResponse {
  int status = 0;      // e.g. 200, 404
  std::string reason;  // e.g. "Not Found"
  std::string body;
};

// Gets each line of a streamed body, without its '\n', as soon as it is
// complete (a last line without '\n' too). Returns false to stop reading.
using LineHandler = std::function<bool(std::string_view line)>;

// What the client proves and trusts (docs/architecture.md §9.3).
struct ClientCredentials {
  // Sent as `Authorization: Bearer <token>` when not empty; never logged or
  // put into messages.
  std::string token;
  // https: the CA certificate (PEM) the server's chain must verify against;
  // empty: the system's trust store.
  std::string ca_file;
};

// True for a token that can go into an Authorization header as it is: not
// empty, at most 4 KiB of RFC 6750 b64token characters (letters, digits and
// -._~+/ then '=' padding). Rules out line breaks (header injection).
inline bool isValidBearerToken(std::string_view token) {
  if (token.empty() || token.size() > 4096) return false;
  std::size_t end = token.find_last_not_of('=');
  if (end == std::string_view::npos) return false;  // only padding
  for (std::size_t i = 0; i <= end; ++i) {
    const char c = token[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("-._~+/").find(c) == std::string_view::npos) return false;
  }
  return true;
}

struct StreamOptions {
  // When set, reading gives up at this time (kDeadlineExceeded); otherwise a
  // streamed body has no deadline.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// Sends requests to one server. Failures to talk HTTP at all (resolve,
// connect, timeout, malformed reply) are errors; any HTTP status is a response.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
  // Like send(), but a 2xx body goes to `on_line` line by line as it arrives
  // (the returned response then has an empty body) until it ends or
  // `on_line` returns false; other statuses come back whole. A 2xx body that
  // breaks off before its end is kUnavailable.
  virtual Result<HttpResponse> stream(const HttpRequest& request, const LineHandler& on_line,
                                      const StreamOptions& options) = 0;
};

}  // namespace zp::cli
