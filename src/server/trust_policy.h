#pragma once
// Trust levels -> runtime classes, minimum security profiles and the
// isolation a class must have verified (docs/architecture.md §6, §10.3).
// Admission and scheduling ask an IsolationPolicy, never a list of their
// own. Plain values and pure functions.
//
// Configuration (server TOML; every key optional, defaults below):
//
//   default_trust = "untrusted"          # what a workload without "trust" gets
//   [trust.untrusted]
//   runtime_classes = ["edera-zone", "gvisor", "kata"]   # in order of preference
//   min_profile = "restricted"
//   min_isolation = "application-kernel" # any | shared-kernel | application-kernel | hypervisor
//   [trust.multi_tenant]
//   runtime_classes = ["edera-zone", "gvisor", "kata"]
//   min_profile = "restricted"
//   min_isolation = "application-kernel"
//   [trust.internal]
//   runtime_classes = ["edera-zone", "gvisor", "kata", "*"]
//   min_profile = "baseline"
//   min_isolation = "any"
//
// "*" in a list stands for every class not named before it, in name order.
// min_isolation is what a node's verification of the class (§10.2) must
// satisfy (api::ClassIsolation::satisfies): "any" takes every class,
// verified or not; a level takes a class verified at least that level and
// not quarantined.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "api/isolation.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::server {

// The list entry that allows any class.
inline constexpr std::string_view kAnyClass = "*";

// One trust level's rule.
struct TrustRule {
  std::vector<std::string> runtime_classes;  // allowed classes, most preferred first
  api::Profile min_profile = api::Profile::kRestricted;
  // What the node must have verified of the class (nullopt: any).
  api::IsolationRequirement min_isolation = api::IsolationLevel::kApplicationKernel;
  bool operator==(const TrustRule&) const = default;
};

struct TrustPolicyConfig {
  api::TrustLevel default_trust = api::TrustLevel::kUntrusted;
  // Indexed by the TrustLevel's value (rule(level) reads it).
  std::array<TrustRule, std::size(api::kAllTrustLevels)> rules;

  // The documented defaults: classes with their own kernel for untrusted and
  // multi_tenant (restricted at least, verified application-kernel at
  // least), any class for internal (own-kernel classes first; baseline at
  // least, any isolation).
  static TrustPolicyConfig defaults();
  const TrustRule& rule(api::TrustLevel level) const {
    return rules[static_cast<std::size_t>(level)];
  }
  TrustRule& rule(api::TrustLevel level) { return rules[static_cast<std::size_t>(level)]; }
  bool operator==(const TrustPolicyConfig&) const = default;
};

// Checks every rule: a non-empty list of DNS-1123 class names or "*", no
// entry twice. Errors are kInvalidArgument naming "trust.<level>.runtime_classes".
Status validateTrustPolicy(const TrustPolicyConfig& config);

// What admission asks about trust. Implementations must be immutable after
// construction (read from the server's executor; safe from any thread).
class IsolationPolicy {
 public:
  virtual ~IsolationPolicy() = default;

  virtual api::TrustLevel defaultTrust() const = 0;
  virtual api::Profile minimumProfile(api::TrustLevel trust) const = 0;
  // What a node's verification of the class must satisfy for `trust`
  // (nullopt: any class, verified or not).
  virtual api::IsolationRequirement minimumIsolation(api::TrustLevel trust) const = 0;
  // May a workload of `trust` run on `runtime_class`?
  virtual bool allows(api::TrustLevel trust, std::string_view runtime_class) const = 0;
  // Of `offered`, the classes allowed for `trust`, most preferred first.
  virtual std::vector<std::string> candidates(api::TrustLevel trust,
                                              const std::vector<std::string>& offered) const = 0;
  // The rule's class list as configured ("*" included), for messages and
  // GET /trust-levels.
  virtual std::vector<std::string> allowedClasses(api::TrustLevel trust) const = 0;
};

// Allows classes by name and requires the configured verified isolation, as
// configured. (The name picks the candidates; the scheduler checks each
// node's verification of the class against minimumIsolation.)
class NamedClassPolicy final : public IsolationPolicy {
 public:
  // `config` must pass validateTrustPolicy.
  explicit NamedClassPolicy(TrustPolicyConfig config) : config_(std::move(config)) {}

  api::TrustLevel defaultTrust() const override { return config_.default_trust; }
  api::Profile minimumProfile(api::TrustLevel trust) const override {
    return config_.rule(trust).min_profile;
  }
  api::IsolationRequirement minimumIsolation(api::TrustLevel trust) const override {
    return config_.rule(trust).min_isolation;
  }
  bool allows(api::TrustLevel trust, std::string_view runtime_class) const override;
  std::vector<std::string> candidates(api::TrustLevel trust,
                                      const std::vector<std::string>& offered) const override;
  std::vector<std::string> allowedClasses(api::TrustLevel trust) const override {
    return config_.rule(trust).runtime_classes;
  }

 private:
  TrustPolicyConfig config_;
};

}  // namespace zp::server
