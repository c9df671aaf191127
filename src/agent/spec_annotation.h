#pragma once
// The workload spec as written onto its pod sandbox (annotations), and read
// back by a restarted agent. Pure functions; no I/O.
//
// The rule (docs: "Recovery and big specs"):
//  - `zoneplane.io/spec-sha256` always holds the SHA-256 of the whole spec's
//    canonical JSON (api::toJson(spec).dump()).
//  - `zoneplane.io/spec` holds that JSON when it is at most
//    kMaxSpecAnnotationBytes; otherwise the same spec without command, args
//    and env (which make a spec big: up to api::kMaxPayloadBytes).
//  So each sandbox costs at most ~8 KiB in a runtime listing, whatever the
//  spec, and a node's listing stays far below the CRI client's receive limit.
//  A restarted agent compares a re-submitted spec with a trimmed one by
//  digest (StartWorkload stays idempotent); and a half-created workload
//  (sandbox, no container) whose spec was trimmed cannot be finished, so it is
//  removed and left for the server to deliver again (see recovery.cc).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/workload.h"

namespace zp::agent {

inline constexpr std::string_view kAnnotationSpecDigest = "zoneplane.io/spec-sha256";
// Largest spec JSON stored whole on a sandbox.
inline constexpr std::size_t kMaxSpecAnnotationBytes = 8 * 1024;

// Lowercase hex SHA-256 of api::toJson(spec).dump().
std::string specDigest(const api::WorkloadSpec& spec);

// The annotations that carry `spec` ({key, value} pairs: the spec, its digest).
std::vector<std::pair<std::string, std::string>> specAnnotations(const api::WorkloadSpec& spec);

struct AnnotatedSpec {
  api::WorkloadSpec spec;  // without command/args/env when !complete
  std::string digest;      // of the whole spec
  bool complete = true;
};

// Reads the spec back from the two annotation values (`digest` absent on
// sandboxes of older agents: the spec is then taken as complete). nullopt if
// the spec is not valid JSON of a valid spec, or the digest is malformed, or
// a spec that claims to be whole does not match its digest.
std::optional<AnnotatedSpec> specFromAnnotations(std::string_view spec_json,
                                                 std::optional<std::string_view> digest);

}  // namespace zp::agent
