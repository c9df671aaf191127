#include "server/trust_policy.h"

#include <algorithm>
#include <set>

#include "api/validate.h"

namespace zp::server {

TrustPolicyConfig TrustPolicyConfig::defaults() {
  // Classes whose workloads get a kernel of their own.
  const std::vector<std::string> own_kernel{"edera-zone", "gvisor", "kata"};
  std::vector<std::string> any = own_kernel;
  any.emplace_back(kAnyClass);
  TrustPolicyConfig config;
  config.default_trust = api::TrustLevel::kUntrusted;
  constexpr api::IsolationRequirement kOwnKernel = api::IsolationLevel::kApplicationKernel;
  config.rule(api::TrustLevel::kUntrusted) = {own_kernel, api::Profile::kRestricted, kOwnKernel};
  config.rule(api::TrustLevel::kMultiTenant) = {own_kernel, api::Profile::kRestricted, kOwnKernel};
  config.rule(api::TrustLevel::kInternal) = {any, api::Profile::kBaseline, std::nullopt};
  return config;
}

Status validateTrustPolicy(const TrustPolicyConfig& config) {
  for (auto level : api::kAllTrustLevels) {
    const auto& classes = config.rule(level).runtime_classes;
    const std::string field = "trust." + std::string(api::trustName(level)) + ".runtime_classes";
    if (classes.empty()) {
      return fail(Code::kInvalidArgument,
                  field + " must name at least one runtime class (or \"*\" for any)", field);
    }
    std::set<std::string> seen;
    for (const auto& cls : classes) {
      if (cls != kAnyClass && !api::isDns1123Label(cls)) {
        return fail(Code::kInvalidArgument,
                    field + ": \"" + cls.substr(0, 80) + "\" is neither a DNS-1123 label nor \"*\"",
                    field);
      }
      if (!seen.insert(cls).second) {
        return fail(Code::kInvalidArgument, field + ": \"" + cls + "\" is listed twice", field);
      }
    }
  }
  return ok();
}

bool NamedClassPolicy::allows(api::TrustLevel trust, std::string_view runtime_class) const {
  const auto& classes = config_.rule(trust).runtime_classes;
  return std::any_of(classes.begin(), classes.end(), [&](const std::string& allowed) {
    return allowed == kAnyClass || allowed == runtime_class;
  });
}

std::vector<std::string> NamedClassPolicy::candidates(
    api::TrustLevel trust, const std::vector<std::string>& offered) const {
  std::vector<std::string> sorted_offer = offered;
  std::sort(sorted_offer.begin(), sorted_offer.end());
  sorted_offer.erase(std::unique(sorted_offer.begin(), sorted_offer.end()), sorted_offer.end());
  const auto& classes = config_.rule(trust).runtime_classes;
  std::vector<std::string> out;
  const auto named = [&](const std::string& cls) {
    return std::find(classes.begin(), classes.end(), cls) != classes.end();
  };
  for (const auto& allowed : classes) {
    if (allowed == kAnyClass) {
      // Every offered class the list does not name, in name order.
      for (const auto& cls : sorted_offer) {
        if (!named(cls)) out.push_back(cls);
      }
    } else if (std::binary_search(sorted_offer.begin(), sorted_offer.end(), allowed)) {
      out.push_back(allowed);
    }
  }
  return out;
}

}  // namespace zp::server
