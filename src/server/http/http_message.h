#pragma once
// The HTTP request/response values handlers see, independent of Beast, and
// the JSON error format of the API:
//   {"error": {"code": "<zp::codeName>", "message": "...", "field"?: "...", "reason"?: "..."}}
// Plain values and pure functions, plus the interface a streamed body is
// written through.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/auth/principal.h"

namespace zp::server {

// HTTP statuses used by the API.
namespace http_status {
inline constexpr unsigned kOk = 200;
inline constexpr unsigned kCreated = 201;
inline constexpr unsigned kBadRequest = 400;
inline constexpr unsigned kUnauthorized = 401;
inline constexpr unsigned kForbidden = 403;
inline constexpr unsigned kNotFound = 404;
inline constexpr unsigned kMethodNotAllowed = 405;
inline constexpr unsigned kConflict = 409;
inline constexpr unsigned kPayloadTooLarge = 413;
inline constexpr unsigned kUnprocessable = 422;
inline constexpr unsigned kTooManyRequests = 429;
inline constexpr unsigned kInternal = 500;
inline constexpr unsigned kNotImplemented = 501;
inline constexpr unsigned kUnavailable = 503;
inline constexpr unsigned kGatewayTimeout = 504;
inline constexpr unsigned kInsufficientStorage = 507;
}  // namespace http_status

// What the HTTP layer knows about a request besides its target and body
// (docs/architecture.md §9.3): filled by HttpServer, read by authentication.
struct RequestMeta {
  std::string authorization;  // the Authorization header, as sent ("" if absent)
  std::string source;         // the client's IP address ("" if unknown)
};

struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  RequestMeta meta;
  // Who sent it: set by the Router's authorization step before the handler
  // runs (anonymous on public routes).
  auth::Principal principal;
  std::string path;                           // as sent (still percent-encoded), no query
  std::map<std::string, std::string> query;   // percent-decoded; each key at most once
  std::map<std::string, std::string> params;  // path parameters, set by the Router
  std::string body;
};

// Where a streamed response body goes (HttpServer implements it). Used by one
// producer coroutine on the server's executor; not thread-safe.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends `chunk` as it is (an empty chunk sends nothing). True once written;
  // false when the client is gone, the write failed or missed its deadline, or
  // the server is stopping: the producer should then return, nothing more is
  // sent. One write at a time.
  virtual boost::asio::awaitable<bool> write(std::string chunk) = 0;
  // False once a write() would fail.
  virtual bool open() const = 0;
  // Ends the response as incomplete (the body lacks its end, so the client
  // can tell it from a complete one) and closes the stream; for a producer
  // that fails half-way. Further writes return false.
  virtual void abort() = 0;
  // Runs `callback` once, on the executor, when the stream closes while the
  // producer may be waiting for something else (client gone, server stopping,
  // a failed write), so the producer can wake up and return; at once when it
  // is closed already. Not run when the producer returns first.
  virtual void onClose(std::function<void()> callback) = 0;
};

// Produces a streamed body: writes chunks until it has nothing more or a
// write() returns false. Must not throw (an exception ends the response).
using BodyProducer = std::function<boost::asio::awaitable<void>(ResponseStream&)>;

struct HttpResponse {
  unsigned status = http_status::kOk;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // When set, `body` is ignored and the body is produced by `stream` as it
  // goes: sent with "Transfer-Encoding: chunked" (HTTP/1.0: until the
  // connection closes), no overall deadline, connection closed afterwards.
  // HEAD gets the headers only and `stream` is never called (it is destroyed
  // with the response, which must release whatever it holds).
  BodyProducer stream;
  // For the audit log (docs/architecture.md §9.3): the id the request acted
  // on when no path parameter names it (a POST sets the id it created), and
  // whether to record the answer at all (a blocked source's repeated 429s are
  // recorded once per window).
  // `detail`, when set, follows the target in the entry's target field (an
  // exec: where and what it ran), bounded like every audit field.
  struct Audit {
    std::string target;
    bool record = true;
    std::string detail;
  } audit;
};

// 200/201 with a JSON body.
HttpResponse jsonResponse(unsigned status, const nlohmann::json& body);
// An error body with an explicit HTTP status; `reason` is added when non-empty.
HttpResponse errorResponse(unsigned status, const Error& error, std::string_view reason = {});
// An error body with the status for its code: InvalidArgument 422 (values;
// handlers answer 400 themselves for malformed input), NotFound 404,
// AlreadyExists/FailedPrecondition 409, ResourceExhausted/Unavailable 503,
// Cancelled 503 (the server is stopping), Unimplemented 501 (e.g. an agent
// without the operation), DeadlineExceeded 504, anything else 500.
HttpResponse errorResponse(const Error& error, std::string_view reason = {});
unsigned httpStatusFor(Code code);
// An InvalidArgument error about a request parameter or field: 400 for its
// shape (unknown, wrong type), 422 for a well-formed but invalid value.
HttpResponse badRequest(std::string message, std::string field);
// 400 for the first query parameter of `request` not in `known`, naming
// `route` and what it takes; nullopt when every parameter is known.
std::optional<HttpResponse> unknownQueryParameter(const HttpRequest& request,
                                                  std::string_view route,
                                                  std::initializer_list<std::string_view> known);
HttpResponse invalid(std::string message, std::string field);
// Checks the value of a node, runtime_class or id filter (`key`), for a watch
// and for GET /workloads alike: 422 naming `key` when it is empty or not a
// DNS-1123 label (no id, node or class can have another name, so such a
// filter would match nothing, silently).
std::optional<HttpResponse> checkNameFilter(const std::string& key, const std::string& value);
// A query parameter's value that must be a whole number in [min, max]:
// InvalidArgument naming `field` (a 422) when it is not one (not a number,
// empty, out of range).
Result<std::int64_t> wholeNumberParameter(const std::string& value, std::int64_t min,
                                          std::int64_t max, const std::string& field);

// JSON text that never throws (invalid UTF-8 is replaced).
std::string dumpJson(const nlohmann::json& j);

}  // namespace zp::server
