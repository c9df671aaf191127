#include "server/workloads/delivery_pacer.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>

#include "server/run_io.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

DeliveryPacingOptions paced() {
  DeliveryPacingOptions options;
  options.lag_target = 500us;
  options.probe_interval = 1ms;
  options.min_rate = 1'000;
  options.max_rate = 100'000;
  options.initial_rate = 2'000;
  options.burst = 2ms;
  options.idle_after = 20ms;
  return options;
}

TEST(PaceControllerTest, LateProbesCutTheRateToItsFloorAndOnTimeOnesRaiseItToItsCeiling) {
  PaceController pacing(paced());
  EXPECT_DOUBLE_EQ(pacing.rate(), 2'000);
  pacing.probe(600us, 1ms);
  EXPECT_DOUBLE_EQ(pacing.rate(), 1'500);
  for (int i = 0; i < 100; ++i) pacing.probe(5ms, 1ms);
  EXPECT_DOUBLE_EQ(pacing.rate(), 1'000);  // however late: a backlog still drains
  pacing.probe(500us, 1ms);                // at the target is on time
  EXPECT_DOUBLE_EQ(pacing.rate(), 1'010);
  for (int i = 0; i < 2'000; ++i) pacing.probe(0us, 1ms);
  EXPECT_DOUBLE_EQ(pacing.rate(), 100'000);
}

TEST(PaceControllerTest, PermitsAccrueAtTheRateUpToTheBurst) {
  PaceController pacing(paced());
  EXPECT_DOUBLE_EQ(pacing.permits(), 4);  // 2 ms at 2,000/s to start with
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(pacing.take());
  EXPECT_FALSE(pacing.take());
  pacing.probe(600us, 1ms);  // cut to 1,500/s: 1.5 permits for the millisecond
  EXPECT_TRUE(pacing.take());
  EXPECT_FALSE(pacing.take());
  // A late probe earns its interval at the floor rate at least, and a pause
  // earns at most 100 ms of it: 100 permits, not 1,000 and not the burst's 2.25.
  pacing.probe(600us, 1s);
  EXPECT_DOUBLE_EQ(pacing.rate(), 1'125);
  EXPECT_DOUBLE_EQ(pacing.permits(), 100);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(pacing.take());
  EXPECT_FALSE(pacing.take());
  pacing.probe(0us, -1ms);  // a clock that stepped back earns nothing
  EXPECT_DOUBLE_EQ(pacing.permits(), 0);
}

TEST(PaceControllerTest, TheFloorRateHoldsHoweverLateTheProbesCome) {
  PaceController pacing(paced());
  int taken = 0;
  while (pacing.take()) ++taken;  // the first burst
  taken = 0;
  for (int i = 0; i < 100; ++i) {  // 1.1 s of probes, each 10 ms late
    pacing.probe(10ms, 11ms);
    while (pacing.take()) ++taken;
  }
  EXPECT_DOUBLE_EQ(pacing.rate(), 1'000);
  EXPECT_GE(taken, 1'000);  // about 1,000/s; the burst alone (2 ms a probe) would give 200
}

// Starts an admit() that records its answer and its turn.
void admitInto(asio::io_context& io, DeliveryPacer& pacer, std::vector<int>& order,
               std::vector<bool>& answers, int index) {
  asio::co_spawn(
      io,
      [&pacer, &order, &answers, index]() -> asio::awaitable<void> {
        auto admission = pacer.admit();
        const bool admitted = co_await std::move(admission);
        answers[static_cast<std::size_t>(index)] = admitted;
        order.push_back(index);
      },
      asio::detached);
}

TEST(DeliveryPacerTest, WithoutATargetEveryAdmissionIsImmediate) {
  asio::io_context io;
  DeliveryPacer pacer(io.get_executor(), DeliveryPacingOptions{});
  EXPECT_FALSE(pacer.enabled());
  std::vector<int> order;
  std::vector<bool> answers(1'000, false);
  for (int i = 0; i < 1'000; ++i) admitInto(io, pacer, order, answers, i);
  io.run();  // no timer: it runs out as soon as the admissions are done
  EXPECT_EQ(order.size(), 1'000u);
  for (bool admitted : answers) EXPECT_TRUE(admitted);
}

TEST(DeliveryPacerTest, AdmitsBeyondTheBurstInArrivalOrderAndStopsProbingWhenIdle) {
  asio::io_context io;
  DeliveryPacer pacer(io.get_executor(), paced());
  std::vector<int> order;
  std::vector<bool> answers(40, false);
  for (int i = 0; i < 40; ++i) admitInto(io, pacer, order, answers, i);
  ASSERT_TRUE(testing::runUntil(io, [&] { return order.size() == 40; }));
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
    EXPECT_TRUE(answers[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(pacer.waiting(), 0u);
  // No admission for idle_after: the probe ends and nothing keeps io running.
  io.restart();
  io.run_for(5s);
  EXPECT_TRUE(io.stopped());
}

TEST(DeliveryPacerTest, APacerDestroyedWhileItsProbeWaitsIsNotTouchedAgain) {
  asio::io_context io;
  {
    DeliveryPacer pacer(io.get_executor(), paced());
    std::vector<int> order;
    std::vector<bool> answers(1, false);
    admitInto(io, pacer, order, answers, 0);
    io.poll();  // admitted from the burst; the probe it started waits
    EXPECT_EQ(order.size(), 1u);
    EXPECT_TRUE(answers[0]);
  }
  io.restart();
  io.run_for(5s);  // the probe's cancelled wait ends it (ASan: no use after free)
  EXPECT_TRUE(io.stopped());
}

TEST(DeliveryPacerTest, CloseRefusesTheWaitingAndEveryLaterAdmission) {
  asio::io_context io;
  auto options = paced();
  options.min_rate = options.max_rate = options.initial_rate = 1'000;  // 2 permits, then 1 per ms
  options.probe_interval = 1h;  // no probe hands out permits during the test
  DeliveryPacer pacer(io.get_executor(), options);
  std::vector<int> order;
  std::vector<bool> answers(5, true);
  for (int i = 0; i < 5; ++i) admitInto(io, pacer, order, answers, i);
  io.poll();
  EXPECT_EQ(order.size(), 2u);  // the burst
  EXPECT_EQ(pacer.waiting(), 3u);
  pacer.close();
  io.restart();
  io.run_for(5s);  // the waiters and the probe end
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(order.size(), 5u);
  EXPECT_TRUE(answers[0]);
  EXPECT_TRUE(answers[1]);
  for (std::size_t i = 2; i < 5; ++i) EXPECT_FALSE(answers[i]);
  std::vector<bool> late(1, true);
  admitInto(io, pacer, order, late, 0);
  io.restart();
  io.run();
  EXPECT_FALSE(late[0]);
}

}  // namespace
}  // namespace zp::server
