#include "server/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace zp::server {

namespace asio = boost::asio;

namespace {
template <typename T, typename Default>
std::unique_ptr<T> orDefault(std::unique_ptr<T> given) {
  if (given) return given;
  return std::make_unique<Default>();
}
}  // namespace

Server::Server(asio::io_context& io, ServerOptions options, store::Store& store,
               std::unique_ptr<AgentClient> agents, std::unique_ptr<Scheduler> scheduler,
               const Clock& clock)
    : io_(io),
      options_(std::move(options)),
      agents_(orDefault<AgentClient, TcpAgentClient>(std::move(agents))),
      scheduler_(orDefault<Scheduler, MostFreeMemoryScheduler>(std::move(scheduler))),
      isolation_(options_.isolation ? options_.isolation
                                    : std::make_shared<const NamedClassPolicy>(options_.trust)),
      admission_(*isolation_, options_.images),
      pool_(io.get_executor(), options_.nodes, *agents_, options_.timeouts.node_info,
            options_.node_refresh_interval),
      controller_(store, pool_, *agents_, clock, options_.timeouts, options_.delivery_backoff),
      reconciler_(io.get_executor(), store, controller_, options_.reconcile_interval),
      workload_handlers_(store, pool_, *scheduler_, admission_, controller_, clock),
      node_handlers_(store, pool_),
      policy_handlers_(*isolation_, pool_),
      http_(io.get_executor(), router_, options_.http) {
  workload_handlers_.addRoutes(router_);
  node_handlers_.addRoutes(router_);
  policy_handlers_.addRoutes(router_);
}

Server::~Server() { stop(); }

Result<asio::ip::tcp::endpoint> Server::start(const asio::ip::tcp::endpoint& endpoint) {
  auto bound = http_.listen(endpoint);
  if (!bound) return bound;
  started_ = true;
  asio::co_spawn(io_, pool_.run(), asio::detached);
  asio::co_spawn(io_, reconciler_.run(), asio::detached);
  return bound;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  http_.stop();
  pool_.stop();
  reconciler_.stop();
  agents_->shutdown();
}

}  // namespace zp::server
