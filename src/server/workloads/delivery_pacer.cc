#include "server/workloads/delivery_pacer.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace zp::server {

namespace asio = boost::asio;
using Seconds = std::chrono::duration<double>;

namespace {

constexpr double kCut = 0.75;     // per late probe
constexpr double kGrowth = 1.01;  // per probe on time
// A pause longer than this (a stopped probe, a stalled process) earns no more.
constexpr std::chrono::nanoseconds kLongestEarning = std::chrono::milliseconds(100);

double burstOf(double rate, const DeliveryPacingOptions& options) {
  return std::max(1.0, rate * Seconds(options.burst).count());
}

}  // namespace

PaceController::PaceController(const DeliveryPacingOptions& options)
    : options_(options),
      rate_(std::clamp(options.initial_rate, options.min_rate, options.max_rate)),
      permits_(burstOf(rate_, options_)) {}

void PaceController::probe(std::chrono::nanoseconds lag, std::chrono::nanoseconds elapsed) {
  rate_ = lag > options_.lag_target ? std::max(options_.min_rate, rate_ * kCut)
                                    : std::min(options_.max_rate, rate_ * kGrowth);
  const double seconds =
      Seconds(std::clamp(elapsed, std::chrono::nanoseconds::zero(), kLongestEarning)).count();
  // The burst caps what accrues; a probe that came late still earns its
  // interval at min_rate at least, so the floor holds however late the loop.
  const double cap = std::max(burstOf(rate_, options_), options_.min_rate * seconds);
  permits_ = std::min(cap, permits_ + rate_ * seconds);
}

bool PaceController::take() {
  if (permits_ < 1.0) return false;
  permits_ -= 1.0;
  return true;
}

DeliveryPacer::DeliveryPacer(asio::any_io_executor executor, DeliveryPacingOptions options)
    : executor_(std::move(executor)), options_(options), controller_(options_) {}

DeliveryPacer::~DeliveryPacer() {
  *alive_ = false;
  if (probe_) probe_->cancel();
}

asio::awaitable<bool> DeliveryPacer::admit() {
  if (closed_) co_return false;
  if (!enabled()) co_return true;
  last_admit_ = Timer::clock_type::now();
  if (!probe_) {
    probe_ = std::make_shared<Timer>(executor_);
    asio::co_spawn(executor_, probeLoop(), asio::detached);
  }
  if (waiters_.empty() && controller_.take()) co_return true;
  auto waiter = std::make_shared<Timer>(executor_, Timer::time_point::max());
  waiters_.push_back(waiter);
  boost::system::error_code ignored;
  co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return !closed_;  // wake() cancelled it with a permit, or close() did without
}

void DeliveryPacer::wake() {
  while (!waiters_.empty() && controller_.take()) {
    waiters_.front()->cancel();
    waiters_.pop_front();
  }
}

void DeliveryPacer::close() {
  closed_ = true;
  for (auto& waiter : waiters_) waiter->cancel();
  waiters_.clear();
  if (probe_) probe_->cancel();
}

asio::awaitable<void> DeliveryPacer::probeLoop() {
  // Held by the coroutine: after each wait it touches the pacer only if the
  // pacer still exists (a pacer destroyed while the probe waits cancels it).
  const std::shared_ptr<Timer> timer = probe_;
  const std::shared_ptr<const bool> alive = alive_;
  auto last = Timer::clock_type::now();
  while (!closed_) {
    timer->expires_after(options_.probe_interval);
    const auto due = timer->expiry();
    boost::system::error_code ignored;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (!*alive) co_return;
    if (closed_) break;
    const auto now = Timer::clock_type::now();
    controller_.probe(now - due, now - last);
    last = now;
    wake();
    if (waiters_.empty() && now - last_admit_ >= options_.idle_after) break;
  }
  probe_.reset();  // the next admit() starts a probe again
}

}  // namespace zp::server
