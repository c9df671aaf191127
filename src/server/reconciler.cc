#include "server/reconciler.h"

#include <spdlog/spdlog.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace zp::server {

namespace asio = boost::asio;

Reconciler::Reconciler(asio::any_io_executor executor, store::Store& store,
                       WorkloadController& controller, std::chrono::milliseconds interval)
    : store_(store), controller_(controller), interval_(interval), timer_(std::move(executor)) {}

asio::awaitable<int> Reconciler::reconcileOnce() {
  auto all = store_.list({});
  if (!all) {
    spdlog::error("reconciler cannot list workloads: {}", all.error().toString());
    co_return 0;
  }
  std::vector<store::WorkloadRecord> active;
  for (auto& record : *all) {
    if (!api::isTerminal(record.status.state)) active.push_back(std::move(record));
  }
  if (active.empty()) co_return 0;
  auto observed = co_await controller_.observeAll(active);
  int resent = 0;
  for (std::size_t i = 0; i < active.size() && !stopped_; ++i) {
    if (!observed[i].missing) continue;
    if (!controller_.deliveryDue(active[i].spec.id)) continue;  // backing off
    spdlog::info("re-sending workload \"{}\" to node \"{}\"", active[i].spec.id, active[i].node);
    std::string id = active[i].spec.id;
    co_await controller_.deliver(std::move(id));
    ++resent;
  }
  co_return resent;
}

asio::awaitable<void> Reconciler::run() {
  while (!stopped_) {
    timer_.expires_after(interval_);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    co_await reconcileOnce();
  }
}

void Reconciler::stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace zp::server
