#pragma once
// The HTTP request/response values handlers see, independent of Beast, and
// the JSON error format of the API:
//   {"error": {"code": "<zp::codeName>", "message": "...", "field"?: "...", "reason"?: "..."}}
// Plain values and pure functions.

#include <boost/beast/http/verb.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace zp::server {

// HTTP statuses used by the API.
namespace http_status {
inline constexpr unsigned kOk = 200;
inline constexpr unsigned kCreated = 201;
inline constexpr unsigned kBadRequest = 400;
inline constexpr unsigned kNotFound = 404;
inline constexpr unsigned kMethodNotAllowed = 405;
inline constexpr unsigned kConflict = 409;
inline constexpr unsigned kPayloadTooLarge = 413;
inline constexpr unsigned kUnprocessable = 422;
inline constexpr unsigned kInternal = 500;
inline constexpr unsigned kUnavailable = 503;
inline constexpr unsigned kGatewayTimeout = 504;
}  // namespace http_status

struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string path;                           // as sent (still percent-encoded), no query
  std::map<std::string, std::string> query;   // percent-decoded; each key at most once
  std::map<std::string, std::string> params;  // path parameters, set by the Router
  std::string body;
};

struct HttpResponse {
  unsigned status = http_status::kOk;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// 200/201 with a JSON body.
HttpResponse jsonResponse(unsigned status, const nlohmann::json& body);
// An error body with an explicit HTTP status; `reason` is added when non-empty.
HttpResponse errorResponse(unsigned status, const Error& error, std::string_view reason = {});
// An error body with the status for its code: InvalidArgument 422 (values;
// handlers answer 400 themselves for malformed input), NotFound 404,
// AlreadyExists/FailedPrecondition 409, ResourceExhausted/Unavailable 503,
// DeadlineExceeded 504, anything else 500.
HttpResponse errorResponse(const Error& error, std::string_view reason = {});
unsigned httpStatusFor(Code code);

// JSON text that never throws (invalid UTF-8 is replaced).
std::string dumpJson(const nlohmann::json& j);

}  // namespace zp::server
