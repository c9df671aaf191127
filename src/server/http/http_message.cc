#include "server/http/http_message.h"

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
      return http_status::kUnavailable;
    case Code::kDeadlineExceeded:
      return http_status::kGatewayTimeout;
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

}  // namespace zp::server
