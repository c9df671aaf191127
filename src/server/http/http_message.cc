#include "server/http/http_message.h"

#include <algorithm>
#include <charconv>

#include "api/validate.h"

namespace zp::server {

std::string dumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse jsonResponse(unsigned status, const nlohmann::json& body) {
  return HttpResponse{status, dumpJson(body) + "\n", "application/json", {}, {}, {}};
}

unsigned httpStatusFor(Code code) {
  switch (code) {
    case Code::kInvalidArgument:
      return http_status::kUnprocessable;
    case Code::kNotFound:
      return http_status::kNotFound;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      return http_status::kConflict;
    case Code::kResourceExhausted:
    case Code::kUnavailable:
    case Code::kCancelled:  // the server (or what it waited for) is stopping
      return http_status::kUnavailable;
    case Code::kUnimplemented:
      return http_status::kNotImplemented;
    case Code::kDeadlineExceeded:
      return http_status::kGatewayTimeout;
    case Code::kStorageFull:
      return http_status::kInsufficientStorage;
    case Code::kUnauthenticated:
      return http_status::kUnauthorized;
    case Code::kPermissionDenied:
      return http_status::kForbidden;
    default:
      return http_status::kInternal;
  }
}

HttpResponse errorResponse(unsigned status, const Error& error, std::string_view reason) {
  nlohmann::json body{{"code", codeName(error.code)}, {"message", error.message}};
  if (!error.field.empty()) body["field"] = error.field;
  if (!reason.empty()) body["reason"] = reason;
  return jsonResponse(status, nlohmann::json{{"error", std::move(body)}});
}

HttpResponse errorResponse(const Error& error, std::string_view reason) {
  return errorResponse(httpStatusFor(error.code), error, reason);
}

HttpResponse badRequest(std::string message, std::string field) {
  return errorResponse(http_status::kBadRequest,
                       Error{Code::kInvalidArgument, std::move(message), std::move(field)});
}

HttpResponse invalid(std::string message, std::string field) {
  return errorResponse(http_status::kUnprocessable,
                       Error{Code::kInvalidArgument, std::move(message), std::move(field)});
}

std::optional<HttpResponse> checkNameFilter(const std::string& key, const std::string& value) {
  if (value.empty()) return invalid(key + " must not be empty", key);
  if (!api::isDns1123Label(value)) {
    return invalid(key + " \"" + value.substr(0, 80) + "\" is not a DNS-1123 label", key);
  }
  return std::nullopt;
}

Result<std::int64_t> wholeNumberParameter(const std::string& value, std::int64_t min,
                                          std::int64_t max, const std::string& field) {
  std::int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size() || n < min ||
      n > max) {
    return fail(Code::kInvalidArgument,
                field + " must be a whole number from " + std::to_string(min) + " to " +
                    std::to_string(max),
                field);
  }
  return n;
}

std::optional<HttpResponse> unknownQueryParameter(const HttpRequest& request,
                                                  std::string_view route,
                                                  std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : request.query) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string takes;
    for (auto name : known) takes += (takes.empty() ? "" : ", ") + std::string(name);
    const std::string name = key.substr(0, 80);
    return badRequest("unknown query parameter \"" + name + "\" (" + std::string(route) +
                          " takes " + (takes.empty() ? std::string("none") : takes) + ")",
                      name);
  }
  return std::nullopt;
}

}  // namespace zp::server
