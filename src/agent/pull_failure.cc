#include "agent/pull_failure.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "api/image_ref.h"

namespace zp::agent {
namespace {

// Lowercase `text` without the image reference and without "quoted" parts.
std::string significant(std::string_view image, std::string_view text) {
  std::string out;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') {
      quoted = !quoted;
      continue;
    }
    if (quoted) continue;
    if (!image.empty() && text.substr(i, image.size()) == image) {
      i += image.size() - 1;
      continue;
    }
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
  }
  return out;
}

bool hasAny(const std::string& text, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](std::string_view n) { return text.find(n) != std::string::npos; });
}

}  // namespace

std::string_view pullFailureName(PullFailure failure) {
  switch (failure) {
    case PullFailure::kNotFound:
      return "not found";
    case PullFailure::kUnauthorized:
      return "unauthorized";
    case PullFailure::kUnreachable:
      return "unreachable";
    case PullFailure::kBadResponse:
      return "bad response";
    case PullFailure::kTimeout:
      return "timeout";
    case PullFailure::kOther:
      return "runtime error";
  }
  return "runtime error";
}

PullFailure classifyPullError(std::string_view image, const Error& error) {
  if (error.code == Code::kDeadlineExceeded) return PullFailure::kTimeout;
  const std::string text = significant(image, error.message);
  if (hasAny(text, {"unauthorized", "authorization failed", "authentication required",
                    "access denied", "denied:", "forbidden", "insufficient_scope"})) {
    return PullFailure::kUnauthorized;
  }
  if (error.code == Code::kNotFound ||
      hasAny(text, {": not found", "manifest unknown", "name unknown", "blob unknown"})) {
    return PullFailure::kNotFound;
  }
  if (hasAny(text, {"i/o timeout", "handshake timeout", "timeout awaiting", "deadline exceeded",
                    "timed out"})) {
    return PullFailure::kTimeout;
  }
  if (hasAny(text,
             {"connection refused", "no such host", "network is unreachable", "no route to host",
              "connection reset", "server misbehaving", "dial tcp", "dial udp", ": eof"})) {
    return PullFailure::kUnreachable;
  }
  if (hasAny(text, {"malformed http", "transport connection broken", "server gave http response",
                    "tls:", "x509:", "unexpected status", "invalid character",
                    "unexpected media type", "unexpected end of json", "content-type"})) {
    return PullFailure::kBadResponse;
  }
  return PullFailure::kOther;
}

std::string pullFailureMessage(std::string_view image, PullFailure failure,
                               std::chrono::milliseconds timeout) {
  const std::string registry = api::registryOf(image);
  std::string explanation;
  switch (failure) {
    case PullFailure::kNotFound:
      explanation = "registry " + registry + " has no such repository, tag or digest";
      break;
    case PullFailure::kUnauthorized:
      explanation =
          "registry " + registry + " refused access (credentials missing or not accepted)";
      break;
    case PullFailure::kUnreachable:
      explanation = "registry " + registry +
                    " could not be reached (connection refused, unknown host or network error)";
      break;
    case PullFailure::kBadResponse:
      explanation =
          "what answered at " + registry + " is not an OCI registry (or not over this protocol)";
      break;
    case PullFailure::kTimeout:
      explanation =
          "no complete answer from registry " + registry +
          " in time (the pull deadline, the agent's pull_timeout_seconds, is " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s)";
      break;
    case PullFailure::kOther:
      explanation = "the runtime could not pull it from registry " + registry +
                    " (its message is in the agent's log)";
      break;
  }
  return "pull of image \"" + std::string(image) +
         "\" failed: " + std::string(pullFailureName(failure)) + ": " + explanation;
}

}  // namespace zp::agent
