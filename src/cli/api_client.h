#pragma once
// The zoneplane REST API as the CLI uses it: builds each request (requests.h),
// sends it through an HttpClient, and turns the reply into JSON or an Error.
// Borrows the HttpClient; single-threaded like it.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/decode.h"
#include "cli/http_client.h"
#include "cli/requests.h"
#include "common/status.h"

namespace zp::cli {

class ApiClient {
 public:
  // `path_prefix` is the server URL's path ("" or "/api"); `http` must outlive
  // this. `has_token` (whether `http` sends one) chooses the hint added to a
  // 401/403 (error_body.h).
  ApiClient(HttpClient& http, std::string path_prefix, bool has_token = false);

  // The server URL's path, which every request's target starts with.
  const std::string& pathPrefix() const { return path_prefix_; }

  Result<nlohmann::json> createWorkload(const nlohmann::json& body);
  Result<nlohmann::json> getWorkload(const std::string& id);
  Result<nlohmann::json> listWorkloads(const ListFilters& filters);
  Result<nlohmann::json> deleteWorkload(const std::string& id,
                                        std::optional<int> grace_seconds = std::nullopt);
  Result<nlohmann::json> listNodes();
  Result<nlohmann::json> addNode(const std::string& id, const std::string& address);
  Result<nlohmann::json> removeNode(const std::string& id, bool force);
  // `action`: cordon, uncordon or drain.
  Result<nlohmann::json> nodeAction(const std::string& id, const std::string& action);
  // GET /nodes/ID/isolation; POST /nodes/ID/probe (runtime_class "" = every class).
  Result<nlohmann::json> nodeIsolation(const std::string& id);
  Result<nlohmann::json> probeNode(const std::string& id, const std::string& runtime_class);
  Result<nlohmann::json> listTrustLevels();
  Result<nlohmann::json> createToken(const TokenSpec& spec);
  Result<nlohmann::json> listTokens();
  Result<nlohmann::json> revokeToken(const std::string& name);
  Result<nlohmann::json> listAudit(const AuditQuery& query);

  // The workload's log lines as they come (until the body ends or `on_line`
  // returns false).
  Status streamLogs(const LogsArgs& args, const LineHandler& on_line);

  using WatchHandler = std::function<bool(const WatchEventView& event)>;
  // Watches the workloads matching `filters` (and `id`, when not empty):
  // each event to `on_event` until the server ends the stream or `on_event`
  // returns false. An ERROR line is the server's error; a line that is not an
  // event is kInternal. A server that refuses the watch (HTTP 400/422, e.g.
  // one without watch support) gives kInvalidArgument.
  Status watchWorkloads(const ListFilters& filters, const std::string& id,
                        const WatchHandler& on_event, const StreamOptions& options = {});

  // Sends one request. 2xx with a JSON body -> that JSON; other statuses -> the
  // server's error (error_body.h), with a hint for 401/403; transport failures pass through; a 2xx
  // body that is not JSON is kInternal.
  Result<nlohmann::json> call(const HttpRequest& request);
  // Sends one request whose 2xx body is read line by line (HttpClient::stream);
  // other statuses -> the server's error.
  Status stream(const HttpRequest& request, const LineHandler& on_line,
                const StreamOptions& options = {});

 private:
  Error replyError(const HttpResponse& response) const;

  HttpClient& http_;
  std::string path_prefix_;
  bool has_token_;
};

}  // namespace zp::cli
