#pragma once
// The zoneplane REST API as the CLI uses it: builds each request (requests.h),
// sends it through an HttpClient, and turns the reply into JSON or an Error.
// Borrows the HttpClient; single-threaded like it.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/http_client.h"
#include "cli/requests.h"
#include "common/status.h"

namespace zp::cli {

class ApiClient {
 public:
  // `path_prefix` is the server URL's path ("" or "/api"); `http` must outlive this.
  ApiClient(HttpClient& http, std::string path_prefix);

  Result<nlohmann::json> createWorkload(const nlohmann::json& body);
  Result<nlohmann::json> getWorkload(const std::string& id);
  Result<nlohmann::json> listWorkloads(const ListFilters& filters);
  Result<nlohmann::json> deleteWorkload(const std::string& id,
                                        std::optional<int> grace_seconds = std::nullopt);
  Result<nlohmann::json> listNodes();
  Result<nlohmann::json> listTrustLevels();

  // Sends one request. 2xx with a JSON body -> that JSON; other statuses -> the
  // server's error (error_body.h); transport failures pass through; a 2xx body
  // that is not JSON is kInternal.
  Result<nlohmann::json> call(const HttpRequest& request);

 private:
  HttpClient& http_;
  std::string path_prefix_;
};

}  // namespace zp::cli
