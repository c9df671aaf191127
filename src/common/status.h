#pragma once
// Errors as values. Every fallible function in zoneplane returns `Status`
// (no value) or `Result<T>`; exceptions never cross a module boundary.

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace zp {

// Error categories, deliberately close to gRPC's canonical codes so CRI errors
// map one to one. Each maps to an HTTP status and a protocol `code` string.
enum class Code {
  kInvalidArgument,     // malformed or invalid input (HTTP 400/422)
  kNotFound,            // no such object (404)
  kAlreadyExists,       // conflicting object (409)
  kFailedPrecondition,  // operation not valid in the current state (409)
  kResourceExhausted,   // too large / no capacity (413 / 503)
  kUnavailable,         // peer unreachable (503)
  kStorageFull,         // the server's own storage is full: nothing was written (507)
  kDeadlineExceeded,    // a deadline passed (504)
  kCancelled,           // the caller gave up or the process is stopping
  kUnimplemented,       // the peer does not know the operation
  kUnauthenticated,     // no valid credentials (401; a refused TLS peer)
  kPermissionDenied,    // valid credentials, not allowed (403)
  kInternal,            // a bug or an unexpected failure (500)
};

// Stable machine-readable name: "InvalidArgument", "NotFound", ...
std::string_view codeName(Code code);
// Inverse of codeName; kInternal for unknown names.
Code codeFromName(std::string_view name);

// A failure: what kind, a human message, and optionally the input field at fault.
struct Error {
  Code code = Code::kInternal;
  std::string message;
  std::string field;  // empty when the error is not about one input field

  // "InvalidArgument: message (field: x)"
  std::string toString() const;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

// `return fail(Code::kNotFound, "no workload \"x\"");` from any Result/Status function.
inline std::unexpected<Error> fail(Code code, std::string message, std::string field = {}) {
  return std::unexpected<Error>(Error{code, std::move(message), std::move(field)});
}
inline std::unexpected<Error> fail(Error error) { return std::unexpected<Error>(std::move(error)); }

inline Status ok() { return {}; }

}  // namespace zp
