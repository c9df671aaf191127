#pragma once
// The HTTP seam of the CLI: one request in, one response out. The Beast
// implementation lives in beast_http_client.h; tests may substitute fakes.

#include <string>

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

// Sends requests to one server. Failures to talk HTTP at all (resolve,
// connect, timeout, malformed reply) are errors; any HTTP status is a response.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

}  // namespace zp::cli
