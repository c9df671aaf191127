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
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kAlreadyExists;
    case 413:
    case 429:
      return Code::kResourceExhausted;
    case 501:
      return Code::kUnimplemented;
    case 503:
      return Code::kUnavailable;
    case 504:
      return Code::kDeadlineExceeded;
    case 507:
      return Code::kStorageFull;
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

Error withAuthHint(Error error, int http_status, bool has_token) {
  std::string_view hint;
  if (http_status == 401 && !has_token) {
    hint =
        "no token: set ZONEPLANE_TOKEN or token in ~/.config/zoneplane/config.toml (an admin "
        "makes one with `zoneplane tokens create`, or `zoneplane-server tokens create` on the "
        "server's machine)";
  } else if (http_status == 401) {
    hint = "the server does not accept this token (mistyped, revoked or expired?)";
  } else if (http_status == 403) {
    hint =
        "the token's role does not allow this (viewer: reads; operator: also workloads and "
        "logs; admin: also nodes, tokens and audit)";
  }
  if (!hint.empty()) error.message += "\nhint: " + std::string(hint);
  return error;
}

std::string formatError(const Error& error) {
  const std::size_t newline = error.message.find('\n');
  std::string line = "error: " + error.message.substr(0, newline);
  if (!error.field.empty()) line += " (field: " + error.field + ")";
  if (newline != std::string::npos) line += error.message.substr(newline);
  return line;
}

}  // namespace zp::cli
