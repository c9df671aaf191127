#include "server/admission.h"

#include <algorithm>

#include "api/image_ref.h"

namespace zp::server {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

}  // namespace

Result<api::WorkloadSpec> Admission::admit(api::WorkloadSpec spec) const {
  if (!spec.trust) spec.trust = isolation_.defaultTrust();
  const api::TrustLevel trust = *spec.trust;
  const std::string level = quoted(api::trustName(trust));

  const api::Profile minimum = isolation_.minimumProfile(trust);
  if (!api::isAtLeast(spec.security.profile, minimum)) {
    return fail(Code::kInvalidArgument,
                "security.profile " + quoted(api::profileName(spec.security.profile)) +
                    " is below the minimum " + quoted(api::profileName(minimum)) +
                    " for trust level " + level,
                "security.profile");
  }

  auto image = api::parseImageReference(spec.image);
  if (!image) return fail(image.error());
  if (auto allowed = images_.check(*image); !allowed) return fail(allowed.error());

  if (!spec.runtime_class.empty() && !isolation_.allows(trust, spec.runtime_class)) {
    return fail(Code::kInvalidArgument,
                "runtime_class " + quoted(spec.runtime_class) + " is not allowed for trust level " +
                    level + " (allowed: " + joined(isolation_.allowedClasses(trust)) + ")",
                "runtime_class");
  }
  return spec;
}

Result<std::vector<std::string>> Admission::candidateClasses(
    const api::WorkloadSpec& spec, const std::vector<std::string>& offered) const {
  const std::string on_offer = offered.empty() ? std::string("no node offers any class yet")
                                               : "classes on offer: " + joined(offered);
  if (!spec.runtime_class.empty()) {
    if (std::find(offered.begin(), offered.end(), spec.runtime_class) != offered.end()) {
      return std::vector<std::string>{spec.runtime_class};
    }
    return fail(
        Code::kInvalidArgument,
        "runtime_class " + quoted(spec.runtime_class) + " is not offered by any node; " + on_offer,
        "runtime_class");
  }
  const api::TrustLevel trust = spec.trust.value_or(isolation_.defaultTrust());
  auto classes = isolation_.candidates(trust, offered);
  if (!classes.empty()) return classes;
  return fail(Code::kInvalidArgument,
              "no node offers a runtime class allowed for trust level " +
                  quoted(api::trustName(trust)) +
                  " (allowed: " + joined(isolation_.allowedClasses(trust)) + "; " + on_offer + ")",
              "trust");
}

}  // namespace zp::server
