#include "cli/error_body.h"

#include <nlohmann/json.hpp>

#include "cli/table.h"

namespace zp::cli {
namespace {

constexpr std::size_t kMaxQuotedBody = 200;

Code codeFromHttpStatus(int status) {
  switch (status) {
    case 400:
    case 422:
      return Code::kInvalidArgument;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kAlreadyExists;
    case 413:
      return Code::kResourceExhausted;
    case 501:
      return Code::kUnimplemented;
    case 503:
      return Code::kUnavailable;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      return Code::kInternal;
  }
}

std::string statusLine(const HttpResponse& response) {
  std::string line = "server replied HTTP " + std::to_string(response.status);
  if (!response.reason.empty()) line += " " + sanitize(response.reason);
  return line;
}

}  // namespace

Error errorFromResponse(const HttpResponse& response) {
  Error error{codeFromHttpStatus(response.status), {}, {}};
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    auto it = body.find("error");
    if (it != body.end() && it->is_object()) {
      const auto& e = *it;
      if (auto c = e.find("code"); c != e.end() && c->is_string()) {
        error.code = codeFromName(c->get<std::string>());
      }
      if (auto f = e.find("field"); f != e.end() && f->is_string()) {
        error.field = sanitize(f->get<std::string>());
      }
      if (auto m = e.find("message"); m != e.end() && m->is_string() && !m->empty()) {
        error.message = sanitize(m->get<std::string>());
        return error;
      }
    }
  }
  error.message = statusLine(response);
  if (!response.body.empty()) {
    std::string quoted = sanitize(response.body.substr(0, kMaxQuotedBody));
    if (response.body.size() > kMaxQuotedBody) quoted += "...";
    error.message += ": " + quoted;
  }
  return error;
}

std::string formatError(const Error& error) {
  std::string line = "error: " + error.message;
  if (!error.field.empty()) line += " (field: " + error.field + ")";
  return line;
}

}  // namespace zp::cli
