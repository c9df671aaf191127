#pragma once
// Admission: the policy checks a submission passes after api validation and
// before scheduling. Trust level and minimum profile, the image's registry,
// which runtime classes the workload may run on and the isolation their
// verification must show. Pure functions of the spec and the policies; no I/O.

#include <string>
#include <vector>

#include "api/workload.h"
#include "common/status.h"
#include "server/image_policy.h"
#include "server/trust_policy.h"

namespace zp::server {

// Borrows both policies, which must outlive it. Immutable; any thread.
class Admission {
 public:
  Admission(const IsolationPolicy& isolation, const ImagePolicy& images)
      : isolation_(isolation), images_(images) {}

  // Returns `spec` with its effective trust (the policy's default when
  // absent) after the rules that do not depend on the nodes, in this order;
  // each failure is kInvalidArgument naming the field:
  //   security.profile  below the level's minimum profile
  //   image             a registry outside the image policy
  //   runtime_class     a given class the level does not allow (the message
  //                     lists the allowed ones)
  // `spec` must have passed api::validateWorkloadSpec.
  Result<api::WorkloadSpec> admit(api::WorkloadSpec spec) const;

  // The classes an admitted spec may be placed on, most preferred first, of
  // those `offered` by some node: its own runtime_class, or the policy's
  // candidates for its trust. kInvalidArgument when none is offered: field
  // runtime_class for a given class, trust otherwise (the message names the
  // level, its allowed classes and the classes on offer).
  Result<std::vector<std::string>> candidateClasses(const api::WorkloadSpec& spec,
                                                    const std::vector<std::string>& offered) const;

  // What a node's verification of the class must satisfy for the spec's
  // trust level (the policy's default when absent), for the scheduler.
  api::IsolationRequirement requirement(const api::WorkloadSpec& spec) const {
    return isolation_.minimumIsolation(spec.trust.value_or(isolation_.defaultTrust()));
  }

 private:
  const IsolationPolicy& isolation_;
  const ImagePolicy& images_;
};

}  // namespace zp::server
