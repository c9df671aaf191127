#include "common/status.h"

#include <array>
#include <utility>

namespace zp {
namespace {
constexpr std::array<std::pair<Code, std::string_view>, 13> kNames{{
    {Code::kInvalidArgument, "InvalidArgument"},
    {Code::kNotFound, "NotFound"},
    {Code::kAlreadyExists, "AlreadyExists"},
    {Code::kFailedPrecondition, "FailedPrecondition"},
    {Code::kResourceExhausted, "ResourceExhausted"},
    {Code::kUnavailable, "Unavailable"},
    {Code::kStorageFull, "StorageFull"},
    {Code::kDeadlineExceeded, "DeadlineExceeded"},
    {Code::kCancelled, "Cancelled"},
    {Code::kUnimplemented, "Unimplemented"},
    {Code::kUnauthenticated, "Unauthenticated"},
    {Code::kPermissionDenied, "PermissionDenied"},
    {Code::kInternal, "Internal"},
}};
}  // namespace

std::string_view codeName(Code code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "Internal";
}

Code codeFromName(std::string_view name) {
  for (const auto& [c, n] : kNames) {
    if (n == name) return c;
  }
  return Code::kInternal;
}

std::string Error::toString() const {
  std::string out{codeName(code)};
  out += ": ";
  out += message;
  if (!field.empty()) {
    out += " (field: ";
    out += field;
    out += ")";
  }
  return out;
}

}  // namespace zp
