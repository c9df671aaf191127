// Fuzz target: a workload submission as POST /workloads receives it
// (server/http/workload_handlers.cc): the body through the strict JSON parser
// and the strict spec decoder (a 400 when either fails), then what the
// workload service does before placing it: api::validateWorkloadSpec and
// admission under the default trust and image policies. A spec that passes
// validation must survive its own JSON form unchanged and still validate,
// and fit in one agent protocol line.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/json.h"
#include "api/strict_json.h"
#include "api/validate.h"
#include "fuzz_check.h"
#include "protocol/messages.h"
#include "server/admission.h"
#include "server/image_policy.h"
#include "server/trust_policy.h"

using zp::fuzz::check;

namespace {

const zp::server::NamedClassPolicy& trustPolicy() {
  static const zp::server::NamedClassPolicy policy(zp::server::TrustPolicyConfig::defaults());
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  auto parsed = zp::api::parseStrictJson(body);
  if (!parsed) return 0;
  auto spec = zp::api::workloadSpecFromJson(*parsed);
  if (!spec) return 0;
  if (!zp::api::validateWorkloadSpec(*spec)) return 0;

  const std::string encoded = zp::api::toJson(*spec).dump();
  auto reparsed = zp::api::parseStrictJson(encoded);
  check(reparsed.has_value(), "a valid spec's JSON parses", encoded);
  auto back = zp::api::workloadSpecFromJson(*reparsed);
  check(back.has_value(), "a valid spec's JSON decodes", encoded);
  check(*back == *spec, "a valid spec survives its JSON form", encoded);
  check(zp::api::validateWorkloadSpec(*back).has_value(), "the decoded spec validates", encoded);

  const std::string line =
      zp::protocol::encodeRequest({std::string("r"), zp::protocol::StartWorkload{*spec}});
  check(line.size() <= zp::protocol::kMaxLineBytes, "a valid spec fits in one protocol line");

  static const zp::server::ImagePolicy images;
  const zp::server::Admission admission(trustPolicy(), images);
  if (auto admitted = admission.admit(*spec)) {
    check(admitted->trust.has_value(), "an admitted spec has its trust level");
    (void)admission.candidateClasses(*admitted, {"native", "gvisor", "edera-zone", "kata"});
    (void)admission.requirement(*admitted);
  }
  return 0;
}
