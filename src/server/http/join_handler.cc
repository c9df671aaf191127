#include "server/http/join_handler.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>

#include "api/json_fields.h"
#include "api/strict_json.h"
#include "api/validate.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

struct JoinRequest {
  std::string node_id;
  std::string csr;
  std::optional<std::string> address;
};

Result<JoinRequest> decodeJoin(const std::string& body) {
  auto j = api::parseStrictJson(body);
  if (!j) return fail(j.error());
  if (auto s = api::fields::requireObject(*j, "join request", {"node_id", "csr", "address"}, "");
      !s) {
    return fail(s.error());
  }
  auto node_id = api::fields::reqString(*j, "node_id", "");
  if (!node_id) return fail(node_id.error());
  auto csr = api::fields::reqString(*j, "csr", "");
  if (!csr) return fail(csr.error());
  auto address = api::fields::optString(*j, "address", "");
  if (!address) return fail(address.error());
  return JoinRequest{std::move(*node_id), std::move(*csr), std::move(*address)};
}

}  // namespace

void JoinHandler::addRoutes(Router& router) {
  router.add(http::verb::post, "/join", auth::Permission::kJoin,
             [this](HttpRequest r) { return join(std::move(r)); });
}

asio::awaitable<HttpResponse> JoinHandler::join(HttpRequest request) {
  // Spent whatever the outcome: a join token is good for one attempt.
  auto spending = tokens_.persistUse(request.principal.token_id);
  if (auto spent = co_await std::move(spending); !spent) {
    co_return errorResponse(
        http_status::kUnavailable,
        Error{Code::kUnavailable,
              "the join token could not be marked used: " + spent.error().message, ""});
  }
  if (!request.query.empty()) {
    co_return badRequest("POST /join takes no query parameters",
                         request.query.begin()->first.substr(0, 80));
  }
  auto decoded = decodeJoin(request.body);
  if (!decoded) co_return errorResponse(http_status::kBadRequest, decoded.error());
  const std::string node_id = decoded->node_id;
  auto refuse = [&](HttpResponse response) {
    response.audit.target = node_id;
    return response;
  };
  if (!api::isDns1123Label(node_id)) {
    co_return refuse(invalid("node_id \"" + node_id.substr(0, 80) +
                                 "\" must be a DNS-1123 label (lowercase letters, digits and "
                                 "'-', at most 63)",
                             "node_id"));
  }
  if (!ca_) {
    co_return refuse(errorResponse(Error{
        Code::kUnavailable, "the server has no cluster CA (run `zoneplane-server ca init`)", ""}));
  }
  // A joining node is always a new node: a join token must not buy a
  // certificate for a node that is registered (and trusted) already.
  if (nodes_.node(node_id)) {
    co_return refuse(errorResponse(Error{
        Code::kAlreadyExists,
        "node \"" + node_id + "\" is registered already: remove the node first (DELETE /nodes/" +
            node_id + ") to join it again",
        "node_id"}));
  }
  tls::CertProfile profile;
  profile.identity = tls::Identity::node(node_id);
  auto certificate = ca_->sign(decoded->csr, profile);
  if (!certificate) {
    Error error = certificate.error();
    if (error.code == Code::kInvalidArgument) error.field = "csr";
    co_return refuse(errorResponse(error));
  }
  if (decoded->address) {
    auto adding = nodes_.add(node_id, *decoded->address);
    auto added = co_await std::move(adding);
    if (!added) co_return refuse(errorResponse(added.error()));
  }
  spdlog::info("join: node {} received its certificate (join token {}){}", node_id,
               request.principal.token_id, decoded->address ? " and was added" : "");
  auto response =
      jsonResponse(http_status::kOk, json{{"certificate", *certificate}, {"ca", ca_->certPem()}});
  response.audit.target = node_id;
  co_return response;
}

}  // namespace zp::server
