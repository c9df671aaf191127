#include "server/http/record_json.h"

#include "api/json.h"

namespace zp::server {

nlohmann::json recordJson(const store::WorkloadRecord& record,
                          const std::optional<api::ClassIsolation>& isolation) {
  nlohmann::json status = api::toJson(record.status);
  if (isolation) {
    nlohmann::json shown{{"level", api::isolationLevelName(isolation->level)},
                         {"score", isolation->score},
                         {"quarantined", isolation->quarantined()}};
    if (isolation->verified_at) shown["verified_at"] = formatRfc3339(*isolation->verified_at);
    status["isolation"] = std::move(shown);
  }
  return nlohmann::json{{"spec", api::toJson(record.spec)}, {"status", std::move(status)}};
}

}  // namespace zp::server
