#pragma once
// What a failed image pull tells the user. The runtime's error text carries
// whatever the registry (or anything listening on its address) sent back, so
// it is classified, never quoted: a status message names the image, its
// registry and the kind of failure; the runtime's own words go to the agent's
// log only. Pure functions.

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::agent {

enum class PullFailure {
  kNotFound,      // the registry has no such repository, tag or digest
  kUnauthorized,  // the registry refused access (credentials missing or rejected)
  kUnreachable,   // no connection (refused, unknown host, network error)
  kBadResponse,   // something answered, but not as an OCI registry
  kTimeout,       // the pull did not finish in time (ours or the network's)
  kOther,         // the runtime failed otherwise (disk full, bad layer, ...)
};

std::string_view pullFailureName(PullFailure failure);  // "not found", "unauthorized", ...

// Classifies the runtime's error for ImageStatus/PullImage of `image`. The
// image reference itself and quoted parts are ignored (a repository called
// "unauthorized" must not look like a refusal). A kDeadlineExceeded error is
// the pull deadline passing: kTimeout.
PullFailure classifyPullError(std::string_view image, const Error& error);

// "pull of image \"<image>\" failed: <kind>: <explanation naming the registry>".
// `timeout` is the pull deadline (named in a timeout message).
std::string pullFailureMessage(std::string_view image, PullFailure failure,
                               std::chrono::milliseconds timeout);

}  // namespace zp::agent
