#include "server/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>

#include "metrics/process.h"
#include "server/http/openapi_handler.h"
#include "server/server_metrics.h"
#include "server/ui/ui_routes.h"
#include "tls/tls_context.h"

namespace zp::server {

namespace asio = boost::asio;

Result<ServerOptions> serverOptions(const ServerConfig& config) {
  ServerOptions options;
  options.nodes = config.nodes;
  options.trust = config.trust;
  if (config.allowed_registries) {
    auto images = ImagePolicy::create(*config.allowed_registries);
    if (!images) return fail(images.error());
    options.images = std::move(*images);
  }
  options.workloads.scheduler = Scheduler(config.scheduler, config.memory_floors);
  options.registry = nodeRegistryOptions(config);
  // A delivery beyond the link's calls in flight would only wait for a slot.
  options.workloads.deliveries_per_node = options.registry.link.max_in_flight;
  options.workloads.pacing.lag_target = std::chrono::microseconds(config.delivery_lag_target_us);
  options.status_commit_interval = std::chrono::milliseconds(config.status_commit_interval_ms);
  const auto files = serverTlsFiles(config);
  if (!config.insecure_http) {
    auto api = tls::serverContext(files, /*require_client_cert=*/false, tls::MinVersion::kTls12);
    if (!api) return fail(api.error());
    options.http.tls = std::move(*api);
  }
  if (!config.insecure_plaintext) {
    auto agents = tls::clientContext(files, tls::MinVersion::kTls13);
    if (!agents) return fail(agents.error());
    options.registry.link.tls = std::move(*agents);
  }
  // The cluster CA (ca.crt, ca.key) for POST /join and join tokens: <data_dir>/pki.
  options.pki_dir = (std::filesystem::path(config.data_dir) / "pki").string();
  options.audit_retention = std::chrono::hours(24 * config.audit_retention_days);
  return options;
}

Server::Server(asio::io_context& io, ServerOptions options, store::Store& store, const Clock& clock)
    : io_(io),
      workload_metrics_(metrics_),
      link_metrics_(metrics_),
      http_metrics_(metrics_),
      options_(instrumented(std::move(options))),
      store_(store),
      clock_(clock),
      isolation_(options_.isolation ? options_.isolation
                                    : std::make_shared<const NamedClassPolicy>(options_.trust)),
      admission_(*isolation_, options_.images),
      commits_(store, store::CommitQueue::kDefaultMaxGroup, options_.status_commit_interval),
      tokens_(io.get_executor(), commits_, clock, options_.tokens),
      authenticator_(tokens_, clock, options_.auth_failures),
      access_(authenticator_, commits_, clock),
      registry_(io.get_executor(), commits_, clock, options_.registry),
      hub_(io.get_executor()),
      service_(io.get_executor(), registry_, commits_, admission_, clock, &hub_,
               options_.workloads),
      watch_handler_(
          hub_,
          [this](const WatchFilter& filter) {
            std::vector<store::WorkloadRecord> out;
            auto page = service_.list(ListFilter{}, std::nullopt, "");
            if (!page) return out;
            for (auto& record : page->items) {
              if (filter.matches(record)) out.push_back(std::move(record));
            }
            return out;
          },
          [this](const store::WorkloadRecord& record) { return service_.isolation(record); }),
      logs_handler_(
          registry_, [this](const std::string& id) { return service_.get(id); }, &hub_),
      workload_handlers_(
          service_,
          [this](HttpRequest request) { return watch_handler_.watch(std::move(request)); }),
      node_handlers_(registry_, clock,
                     [this](std::string node) { return service_.drain(std::move(node)); }),
      policy_handlers_(*isolation_, registry_),
      access_handlers_(tokens_, commits_,
                       [this] { return ca_ ? std::string(ca_->fingerprint()) : std::string(); }),
      join_handler_(tokens_, registry_, ca_),
      stats_handler_([this] {
        return ServerStats{.http_connections = http_.openConnections(),
                           .watchers = hub_.watcherCount(),
                           .commit_backlog = commits_.pending(),
                           .nodes = registry_.linkLoads()};
      }),
      metrics_handler_(metrics_),
      http_(options_.api_io ? options_.api_io : io.get_executor(),
            options_.api_core ? options_.api_core : io.get_executor(), router_, options_.http),
      tick_timer_(io) {
  registry_.setListener(&service_);
  workload_handlers_.addRoutes(router_);
  router_.add(boost::beast::http::verb::get, "/workloads/{id}/logs", auth::Permission::kReadLogs,
              [this](HttpRequest request) { return logs_handler_.logs(std::move(request)); });
  node_handlers_.addRoutes(router_);
  policy_handlers_.addRoutes(router_);
  access_handlers_.addRoutes(router_);
  join_handler_.addRoutes(router_);
  stats_handler_.addRoutes(router_);
  metrics_handler_.addRoutes(router_);
  OpenApiHandler{}.addRoutes(router_);
  ui::addRoutes(router_);
  router_.setAccessControl(&access_);
  router_.setObserver(&http_metrics_);
  addServerCollectors(metrics_, service_, registry_, [this] {
    return ServerStats{.http_connections = http_.openConnections(),
                       .watchers = hub_.watcherCount(),
                       .commit_backlog = commits_.pending(),
                       .nodes = {}};
  });
  metrics::addProcessMetrics(metrics_);
}

ServerOptions Server::instrumented(ServerOptions options) {
  options.workloads.metrics = &workload_metrics_;
  options.registry.link.metrics = &link_metrics_;
  return options;
}

Server::~Server() {
  stop();
  // Drained while every component that submitted to it still exists.
  commits_.stop();
}

Result<asio::ip::tcp::endpoint> Server::start(const asio::ip::tcp::endpoint& endpoint) {
  // The registry first: loading the workloads counts their allocations on
  // the nodes it knows.
  auto nodes = store_.loadNodes();
  if (!nodes) return fail(nodes.error());
  if (auto s = registry_.load(std::move(*nodes), options_.nodes); !s) return fail(s.error());
  if (auto loaded = service_.load(store_); !loaded) return fail(loaded.error());
  auto tokens = store_.loadTokens();
  if (!tokens) return fail(tokens.error());
  if (tokens->empty()) {
    spdlog::warn(
        "no API tokens yet: every request but GET /healthz is refused until one is made "
        "(zoneplane-server tokens create --name admin --role admin)");
  }
  tokens_.load(std::move(*tokens));
  if (!options_.pki_dir.empty()) {
    auto ca = tls::CertificateAuthority::load(options_.pki_dir);
    if (ca) {
      ca_.emplace(std::move(*ca));
    } else if (ca.error().code == Code::kNotFound) {
      spdlog::info("no cluster CA in \"{}\": joining and join tokens are refused",
                   options_.pki_dir);
    } else {
      return fail(ca.error());
    }
  }
  auto bound = http_.listen(endpoint);
  if (!bound) return bound;
  started_ = true;
  registry_.start();
  asio::co_spawn(io_, tickLoop(), asio::detached);
  return bound;
}

asio::awaitable<void> Server::tickLoop() {
  while (!stopped_) {
    service_.tick(clock_.now());
    tokens_.tick();
    authenticator_.tick();
    expireAudit(clock_.now());
    tick_timer_.expires_after(options_.tick_interval);
    boost::system::error_code ec;
    co_await tick_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Server::expireAudit(TimePoint now) {
  constexpr std::chrono::hours kInterval{1};
  // A clock stepped back restarts the interval.
  if (audit_expired_ && now >= *audit_expired_ && now - *audit_expired_ < kInterval) return;
  audit_expired_ = now;
  const TimePoint before = now - options_.audit_retention;
  commits_.submit({store::DeleteAuditBefore{before}}, [before](Status status) {
    if (!status) {
      spdlog::error("audit: entries before {} could not be deleted: {}", formatRfc3339(before),
                    status.error().toString());
    }
  });
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  http_.stop();
  tick_timer_.cancel();
  service_.stop();
  hub_.shutdown();
  registry_.shutdown();
}

}  // namespace zp::server
