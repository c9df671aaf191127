#include "server/workload_handlers.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "api/json.h"
#include "api/strict_json.h"
#include "api/validate.h"

namespace zp::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

std::string generateWorkloadId() {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string id = "wl-";
  for (int i = 0; i < 10; ++i) id.push_back(kAlphabet[pick(engine)]);
  return id;
}

namespace {

constexpr int kGeneratedIdAttempts = 5;

json workloadJson(const api::WorkloadSpec& spec, const api::WorkloadStatus& status) {
  return json{{"spec", api::toJson(spec)}, {"status", api::toJson(status)}};
}

// Shape only: JSON syntax and the strict decoder (a 400 when it fails).
Result<api::WorkloadSpec> decodeSubmission(const std::string& body) {
  auto j = api::parseStrictJson(body);
  if (!j) return fail(j.error());
  return api::workloadSpecFromJson(*j);
}

HttpResponse storeFailure(const Error& error) {
  spdlog::error("store failure: {}", error.toString());
  return errorResponse(http_status::kInternal,
                       Error{Code::kInternal, "store failure: " + error.message, ""});
}

}  // namespace

WorkloadHandlers::WorkloadHandlers(store::Store& store, NodePool& pool, const Scheduler& scheduler,
                                   const Admission& admission, WorkloadController& controller,
                                   const Clock& clock)
    : store_(store),
      pool_(pool),
      scheduler_(scheduler),
      admission_(admission),
      controller_(controller),
      clock_(clock) {}

namespace {
// "grace_seconds": how long a running container gets between SIGTERM and SIGKILL.
Result<std::chrono::seconds> parseGraceSeconds(const std::string& value) {
  std::int64_t n = -1;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || ptr != value.data() + value.size() || n < 0 ||
      n > protocol::kMaxStopTimeoutSeconds) {
    return fail(Code::kInvalidArgument,
                "grace_seconds must be a whole number from 0 to " +
                    std::to_string(protocol::kMaxStopTimeoutSeconds),
                "grace_seconds");
  }
  return std::chrono::seconds{n};
}
}  // namespace

void WorkloadHandlers::addRoutes(Router& router) {
  router.add(http::verb::post, "/workloads",
             [this](HttpRequest r) { return create(std::move(r)); });
  router.add(http::verb::get, "/workloads", [this](HttpRequest r) { return list(std::move(r)); });
  router.add(http::verb::get, "/workloads/{id}",
             [this](HttpRequest r) { return get(std::move(r)); });
  router.add(http::verb::delete_, "/workloads/{id}",
             [this](HttpRequest r) { return remove(std::move(r)); });
}

asio::awaitable<HttpResponse> WorkloadHandlers::create(HttpRequest request) {
  auto decoded = decodeSubmission(request.body);
  if (!decoded) co_return errorResponse(http_status::kBadRequest, decoded.error());
  api::WorkloadSpec spec = std::move(*decoded);
  const bool generated_id = spec.id.empty();
  if (generated_id) spec.id = generateWorkloadId();
  if (auto valid = api::validateWorkloadSpec(spec); !valid) {
    co_return errorResponse(http_status::kUnprocessable, valid.error());
  }
  auto admitted = admission_.admit(std::move(spec));
  if (!admitted) co_return errorResponse(http_status::kUnprocessable, admitted.error());
  spec = std::move(*admitted);
  auto classes = admission_.candidateClasses(spec, pool_.offeredClasses());
  if (!classes) {
    // The pool may not have heard from a node yet (just started, node back
    // up): ask the nodes once before rejecting.
    co_await pool_.refresh();
    classes = admission_.candidateClasses(spec, pool_.offeredClasses());
  }
  if (!classes) co_return errorResponse(http_status::kUnprocessable, classes.error());

  // From here to store_.create() nothing suspends, so two submissions cannot
  // both take the last free capacity of a node.
  for (int attempt = 0; generated_id && attempt < kGeneratedIdAttempts; ++attempt) {
    if (auto existing = store_.get(spec.id); !existing) break;
    spec.id = generateWorkloadId();
  }
  if (auto existing = store_.get(spec.id); existing) {
    co_return errorResponse(
        Error{Code::kAlreadyExists, "workload \"" + spec.id + "\" already exists", "id"});
  } else if (existing.error().code != Code::kNotFound) {
    co_return storeFailure(existing.error());
  }
  auto all = store_.list({});
  if (!all) co_return storeFailure(all.error());
  auto placement = placeByPreference(scheduler_, spec, *classes,
                                     pool_.views(WorkloadController::requestedPerNode(*all)));
  if (!placement) {
    const bool no_room = placement.error().code == Code::kResourceExhausted;
    co_return errorResponse(placement.error(), no_room ? api::reason::kUnschedulable : "");
  }
  // What is stored, and what the agent receives, always names its class.
  spec.runtime_class = placement->runtime_class;
  const std::string node = placement->node;

  const TimePoint now = clock_.now();
  store::WorkloadRecord record;
  record.spec = spec;
  record.node = node;
  record.status.id = spec.id;
  record.status.state = api::WorkloadState::kPending;
  record.status.reason = std::string(api::reason::kScheduled);
  record.status.message = "scheduled to node \"" + node + "\"";
  record.status.node = node;
  record.status.created_at = now;
  record.created_at = now;
  record.updated_at = now;
  if (auto created = store_.create(record); !created) {
    if (created.error().code == Code::kAlreadyExists) co_return errorResponse(created.error());
    co_return storeFailure(created.error());
  }
  spdlog::info("workload \"{}\" ({}, trust {}, class {}) scheduled to node \"{}\"", spec.id,
               spec.image, api::trustName(*spec.trust), spec.runtime_class, node);

  std::string id = spec.id;
  auto status = co_await controller_.deliver(std::move(id));
  auto response =
      jsonResponse(http_status::kCreated, workloadJson(spec, status.value_or(record.status)));
  response.headers.emplace_back("Location", "/workloads/" + spec.id);
  co_return response;
}

asio::awaitable<HttpResponse> WorkloadHandlers::get(HttpRequest request) {
  const std::string& id = request.params["id"];
  auto record = store_.get(id);
  if (!record) {
    if (record.error().code == Code::kNotFound) {
      co_return errorResponse(
          Error{Code::kNotFound, "no workload \"" + id.substr(0, 80) + "\"", ""});
    }
    co_return storeFailure(record.error());
  }
  const api::WorkloadSpec spec = record->spec;
  auto status = co_await controller_.observe(std::move(*record));
  co_return jsonResponse(http_status::kOk, workloadJson(spec, status));
}

asio::awaitable<HttpResponse> WorkloadHandlers::list(HttpRequest request) {
  store::ListFilter filter;
  std::optional<api::WorkloadState> state;
  for (const auto& [key, value] : request.query) {
    if (key == "state") {
      state = api::parseState(value);
      if (!state) {
        co_return errorResponse(Error{Code::kInvalidArgument,
                                      "state \"" + value.substr(0, 80) +
                                          "\" is not one of Pending, Running, Succeeded, "
                                          "Failed, Unknown",
                                      "state"});
      }
    } else if (key == "node") {
      filter.node = value;
    } else if (key == "runtime_class") {
      filter.runtime_class = value;
    } else {
      co_return errorResponse(http_status::kBadRequest,
                              Error{Code::kInvalidArgument,
                                    "unknown query parameter \"" + key.substr(0, 80) +
                                        "\" (known: state, node, runtime_class)",
                                    key.substr(0, 80)});
    }
  }
  // The state filter applies to the refreshed state, not the stored one.
  auto records = store_.list(filter);
  if (!records) co_return storeFailure(records.error());
  auto observed = co_await controller_.observeAll(*records);
  json items = json::array();
  for (std::size_t i = 0; i < records->size(); ++i) {
    if (state && observed[i].status.state != *state) continue;
    items.push_back(workloadJson((*records)[i].spec, observed[i].status));
  }
  co_return jsonResponse(http_status::kOk, json{{"items", std::move(items)}});
}

asio::awaitable<HttpResponse> WorkloadHandlers::remove(HttpRequest request) {
  const std::string id = request.params["id"];
  std::chrono::seconds grace{protocol::kDefaultStopTimeoutSeconds};
  for (const auto& [key, value] : request.query) {
    if (key != "grace_seconds") {
      co_return errorResponse(http_status::kBadRequest,
                              Error{Code::kInvalidArgument,
                                    "unknown query parameter \"" + key.substr(0, 80) +
                                        "\" (known: grace_seconds)",
                                    key.substr(0, 80)});
    }
    auto parsed = parseGraceSeconds(value);
    if (!parsed) co_return errorResponse(parsed.error());
    grace = *parsed;
  }
  auto removed = co_await controller_.remove(id, grace);
  if (!removed) {
    if (removed.error().code == Code::kNotFound) {
      co_return errorResponse(
          Error{Code::kNotFound, "no workload \"" + id.substr(0, 80) + "\"", ""});
    }
    co_return errorResponse(removed.error());
  }
  co_return jsonResponse(http_status::kOk, workloadJson(removed->spec, removed->status));
}

}  // namespace zp::server
