#pragma once
// Pacing of StartWorkload calls (docs/architecture.md §8.7.1): background
// delivery takes what the core's other work leaves, so a backlog of
// thousands of deliveries does not hold every API request behind it.
//
// The signal is the core's loop lag: a timer armed every `probe_interval`
// runs that much later than its expiry as the handlers queued before it
// take. A request waits behind the same queue. A probe later than
// `lag_target` cuts the delivery rate by a quarter (never below `min_rate`,
// so a backlog always drains, however late the probes come); one on time
// grows it by 1 %, back to unpaced within a second. The rate settles where
// about 3 % of probes are late. Permits accrue at the rate, at most `burst`
// worth of it (or a late probe's interval at min_rate), and are handed out
// at each probe, so deliveries go in small groups rather than in one wave;
// a delivery takes one before it sends.
//
// PaceController is the arithmetic alone (durations in, permits out: tests
// drive it with made-up lags). DeliveryPacer runs it on the core's
// executor: admit() returns at once while a permit is left, otherwise waits
// its turn (first come, first served) for the next probe's permits. The
// probe runs only while deliveries ask for permits: it stops once none has
// asked for `idle_after` (1 s) and none waits, so an idle server has no
// timer waking it.

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>

namespace zp::server {

struct DeliveryPacingOptions {
  // Zero: no pacing, admit() always returns at once.
  std::chrono::microseconds lag_target{0};
  std::chrono::milliseconds probe_interval{1};
  double min_rate = 1'000;    // deliveries per second however late the loop runs
  double max_rate = 200'000;  // at this rate pacing has let go
  double initial_rate = 5'000;
  std::chrono::milliseconds burst{2};  // permits accrue up to this much of the rate
  std::chrono::milliseconds idle_after{1'000};
};

class PaceController {
 public:
  explicit PaceController(const DeliveryPacingOptions& options);

  // One probe: it ran `lag` after its expiry, `elapsed` after the last one.
  // Adjusts the rate, then adds the permits `elapsed` earned at it.
  void probe(std::chrono::nanoseconds lag, std::chrono::nanoseconds elapsed);
  // Takes one permit; false when none is left.
  bool take();

  double rate() const { return rate_; }
  double permits() const { return permits_; }

 private:
  DeliveryPacingOptions options_;
  double rate_;
  double permits_;
};

// Not thread-safe: everything runs on the executor given at construction
// (the core's). Must outlive every admit() in progress (close() ends them at
// the executor's next turn). The probe is not one of the owner's counted
// tasks: it may be waiting when the pacer is destroyed, and then ends
// without touching it.
class DeliveryPacer {
 public:
  DeliveryPacer(boost::asio::any_io_executor executor, DeliveryPacingOptions options);
  ~DeliveryPacer();
  DeliveryPacer(const DeliveryPacer&) = delete;
  DeliveryPacer& operator=(const DeliveryPacer&) = delete;

  // True with a permit to send one delivery; false once closed.
  boost::asio::awaitable<bool> admit();
  // Every admit() waiting returns false; later ones return false at once.
  void close();

  bool enabled() const { return options_.lag_target.count() > 0; }
  double rate() const { return controller_.rate(); }
  std::size_t waiting() const { return waiters_.size(); }

 private:
  using Timer = boost::asio::steady_timer;
  boost::asio::awaitable<void> probeLoop();
  // Hands the permits there are to the waiters, in arrival order.
  void wake();

  boost::asio::any_io_executor executor_;
  DeliveryPacingOptions options_;
  PaceController controller_;
  std::deque<std::shared_ptr<Timer>> waiters_;  // each cancelled when its permit comes
  std::shared_ptr<Timer> probe_;                // the probe's timer while it runs
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed
  Timer::time_point last_admit_{};
  bool closed_ = false;
};

}  // namespace zp::server
