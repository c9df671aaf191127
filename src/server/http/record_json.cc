#include "server/http/record_json.h"

#include "api/json.h"

namespace zp::server {

nlohmann::json recordJson(const store::WorkloadRecord& record) {
  return nlohmann::json{{"spec", api::toJson(record.spec)},
                        {"status", api::toJson(record.status)}};
}

}  // namespace zp::server
