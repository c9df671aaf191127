#include "cli/api_client.h"

#include <utility>

#include "cli/error_body.h"

namespace zp::cli {

ApiClient::ApiClient(HttpClient& http, std::string path_prefix, bool has_token)
    : http_(http), path_prefix_(std::move(path_prefix)), has_token_(has_token) {}

Error ApiClient::replyError(const HttpResponse& response) const {
  return withAuthHint(errorFromResponse(response), response.status, has_token_);
}

Result<nlohmann::json> ApiClient::createWorkload(const nlohmann::json& body) {
  return call(createWorkloadRequest(path_prefix_, body));
}

Result<nlohmann::json> ApiClient::getWorkload(const std::string& id) {
  return call(getWorkloadRequest(path_prefix_, id));
}

Result<nlohmann::json> ApiClient::listWorkloads(const ListFilters& filters) {
  return call(listWorkloadsRequest(path_prefix_, filters));
}

Result<nlohmann::json> ApiClient::deleteWorkload(const std::string& id,
                                                 std::optional<int> grace_seconds) {
  return call(deleteWorkloadRequest(path_prefix_, id, grace_seconds));
}

Result<nlohmann::json> ApiClient::listNodes() { return call(listNodesRequest(path_prefix_)); }

Result<nlohmann::json> ApiClient::addNode(const std::string& id, const std::string& address) {
  return call(addNodeRequest(path_prefix_, id, address));
}

Result<nlohmann::json> ApiClient::removeNode(const std::string& id, bool force) {
  return call(removeNodeRequest(path_prefix_, id, force));
}

Result<nlohmann::json> ApiClient::nodeAction(const std::string& id, const std::string& action) {
  return call(nodeActionRequest(path_prefix_, id, action));
}

Status ApiClient::streamLogs(const LogsArgs& args, const LineHandler& on_line) {
  return stream(logsRequest(path_prefix_, args), on_line);
}

Status ApiClient::watchWorkloads(const ListFilters& filters, const std::string& id,
                                 const WatchHandler& on_event, const StreamOptions& options) {
  std::optional<Error> failure;
  auto streamed = stream(
      watchWorkloadsRequest(path_prefix_, filters, id),
      [&](std::string_view line) {
        if (line.empty()) return true;
        auto event = decodeWatchEvent(line);
        if (!event) {
          failure = event.error();
          return false;
        }
        return on_event(*event);
      },
      options);
  if (!streamed) return streamed;
  if (failure) return fail(*failure);
  return ok();
}

Status ApiClient::stream(const HttpRequest& request, const LineHandler& on_line,
                         const StreamOptions& options) {
  auto response = http_.stream(request, on_line, options);
  if (!response) return fail(response.error());
  if (response->status < 200 || response->status > 299) return fail(replyError(*response));
  return ok();
}

Result<nlohmann::json> ApiClient::nodeIsolation(const std::string& id) {
  return call(nodeIsolationRequest(path_prefix_, id));
}

Result<nlohmann::json> ApiClient::probeNode(const std::string& id,
                                            const std::string& runtime_class) {
  return call(probeNodeRequest(path_prefix_, id, runtime_class));
}

Result<nlohmann::json> ApiClient::listTrustLevels() {
  return call(listTrustLevelsRequest(path_prefix_));
}

Result<nlohmann::json> ApiClient::createToken(const TokenSpec& spec) {
  return call(createTokenRequest(path_prefix_, spec));
}

Result<nlohmann::json> ApiClient::listTokens() { return call(listTokensRequest(path_prefix_)); }

Result<nlohmann::json> ApiClient::revokeToken(const std::string& name) {
  return call(revokeTokenRequest(path_prefix_, name));
}

Result<nlohmann::json> ApiClient::listAudit(const AuditQuery& query) {
  return call(auditRequest(path_prefix_, query));
}

Result<nlohmann::json> ApiClient::call(const HttpRequest& request) {
  auto response = http_.send(request);
  if (!response) return fail(response.error());
  if (response->status < 200 || response->status > 299) return fail(replyError(*response));
  auto body = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return fail(Code::kInternal, "unexpected reply from the server: HTTP " +
                                     std::to_string(response->status) + " without a JSON body");
  }
  return body;
}

}  // namespace zp::cli
