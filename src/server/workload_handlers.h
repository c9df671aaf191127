#pragma once
// The /workloads routes of the REST API (docs/architecture.md §7):
//   POST /workloads          body: WorkloadSpec JSON -> 201 {spec, status}, Location
//   GET /workloads/{id}      -> 200 {spec, status} (refreshed from the agent)
//   GET /workloads?state=&node=&runtime_class=  -> 200 {items: [{spec, status}]}
//   DELETE /workloads/{id}   -> 200 {spec, status} of the removed workload
//
// Input errors: a body that is not JSON, or JSON of the wrong shape (not an
// object, unknown field, wrong type, a key twice) is 400; a well-formed spec
// with invalid values (id, image, resources, security) or one admission
// refuses (admission.h: profile below the trust level's minimum, image
// registry outside the policy, a class the trust level does not allow or no
// node offers) is 422, both naming the field. Without runtime_class the
// workload gets the first class allowed for its trust level that a node with
// room offers; the stored spec records the effective trust and class.
// Unknown query parameters are 400, a bad state filter 422.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <string>

#include "common/time.h"
#include "server/admission.h"
#include "server/http_message.h"
#include "server/node_pool.h"
#include "server/router.h"
#include "server/scheduler.h"
#include "server/workload_controller.h"
#include "store/store.h"

namespace zp::server {

// "wl-" followed by 10 random characters from [a-z0-9].
std::string generateWorkloadId();

// Parses, validates and schedules submissions; delegates agent work to the
// controller. Owns nothing; runs on the server's single executor.
class WorkloadHandlers {
 public:
  WorkloadHandlers(store::Store& store, NodePool& pool, const Scheduler& scheduler,
                   const Admission& admission, WorkloadController& controller, const Clock& clock);

  void addRoutes(Router& router);

  boost::asio::awaitable<HttpResponse> create(HttpRequest request);
  boost::asio::awaitable<HttpResponse> get(HttpRequest request);
  boost::asio::awaitable<HttpResponse> list(HttpRequest request);
  boost::asio::awaitable<HttpResponse> remove(HttpRequest request);

 private:
  store::Store& store_;
  NodePool& pool_;
  const Scheduler& scheduler_;
  const Admission& admission_;
  WorkloadController& controller_;
  const Clock& clock_;
};

}  // namespace zp::server
