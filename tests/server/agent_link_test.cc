#include "server/nodes/agent_link.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "fake_agent.h"
#include "run_io.h"
#include "server/nodes/node_lifecycle.h"

namespace zp::server {
namespace {

namespace asio = boost::asio;
using testing::FakeAgent;
using testing::runTask;
using testing::runUntil;
using namespace std::chrono_literals;

// An address nobody listens on.
std::string closedAddress() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return "127.0.0.1:" + std::to_string(port);
}

api::WorkloadStatus status(std::string id,
                           api::WorkloadState state = api::WorkloadState::kRunning) {
  api::WorkloadStatus s;
  s.id = std::move(id);
  s.uid = "u-" + s.id;
  s.node = "node-a";
  s.state = state;
  return s;
}

std::string pad(int i) {
  std::string n = std::to_string(i);
  return std::string(4 - std::min<std::size_t>(4, n.size()), '0') + n;
}

class AgentLinkTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (link) link->shutdown();
    // Everything the link started ends: the io_context runs out of work.
    io.restart();
    io.run_for(10s);
    EXPECT_TRUE(io.stopped()) << "the link left work behind after shutdown()";
  }

  static AgentLinkOptions fastOptions() {
    AgentLinkOptions options;
    options.backoff_initial = 10ms;
    options.backoff_max = 40ms;
    options.hello_timeout = 2s;
    options.heartbeat_timeout = 2s;
    return options;
  }

  void makeLink(std::string node_id, std::string address,
                AgentLinkOptions options = fastOptions()) {
    AgentLinkEvents events;
    events.connected = [this](const api::NodeInfo& info) {
      log.push_back("connected");
      infos.push_back(info);
      if (on_connected) on_connected();
    };
    events.resynced = [this](std::vector<api::WorkloadStatus> items) {
      return onResync(std::move(items));
    };
    events.pushed = [this](const api::WorkloadStatus& s) {
      log.push_back("pushed:" + s.id + ":" + std::string(api::stateName(s.state)));
      pushes.push_back(s);
    };
    events.heartbeat = [this](const api::NodeInfo& info) {
      log.push_back("heartbeat");
      heartbeats.push_back(info);
    };
    events.disconnected = [this](std::string_view reason, const std::string& message) {
      log.push_back("disconnected:" + std::string(reason));
      disconnects.emplace_back(std::string(reason), message);
    };
    link = AgentLink::create(io.get_executor(), std::move(node_id), std::move(address), options,
                             std::move(events));
  }

  asio::awaitable<void> onResync(std::vector<api::WorkloadStatus> items) {
    log.push_back("resynced:" + std::to_string(items.size()));
    resyncs.push_back(std::move(items));
    if (during_resync) {
      auto hook = during_resync;
      co_await hook();
    }
  }

  // A link to node-a with heartbeats every 1 s at a phase of 300 ms, past
  // its resync and its connection's first tick; returns that tick's time.
  MonotonicTime startWithHeartbeatPhase() {
    auto options = fastOptions();
    options.heartbeat_interval = std::chrono::seconds(1);
    options.heartbeat_phase = std::chrono::milliseconds(300);
    makeLink("node-a", agent.address(), options);
    startAndResync();
    const MonotonicTime t0 = MonotonicTime{} + std::chrono::hours(1000);
    link->tick(t0);
    return t0;
  }

  // Starts the link and waits for its resync number `n`.
  void startAndResync(std::size_t n = 1) {
    link->start();
    ASSERT_TRUE(runUntil(io, [&] { return resyncs.size() >= n; })) << lastDisconnect();
  }

  std::string lastDisconnect() const {
    return disconnects.empty() ? "" : disconnects.back().first + ": " + disconnects.back().second;
  }

  Result<protocol::ReplyBody> call(protocol::RequestBody request,
                                   std::chrono::milliseconds timeout = 5s) {
    return runTask(io, link->call(std::move(request), timeout));
  }

  asio::io_context io;
  FakeAgent agent{"node-a", {"native", "edera-zone"}, {4096, 8000}};
  std::shared_ptr<AgentLink> link;
  std::vector<std::string> log;
  std::vector<api::NodeInfo> infos;
  std::vector<std::vector<api::WorkloadStatus>> resyncs;
  std::vector<api::WorkloadStatus> pushes;
  std::vector<api::NodeInfo> heartbeats;
  std::vector<std::pair<std::string, std::string>> disconnects;
  std::function<asio::awaitable<void>()> during_resync;
  std::function<void()> on_connected;  // after Hello, before the listing is asked
  // Filled by coroutines the tests spawn (members, so they outlive a failed test body).
  std::map<std::string, std::string> answered;
  std::vector<Result<protocol::ReplyBody>> results;
};

TEST_F(AgentLinkTest, HelloThenResyncOnOneSubscribedConnection) {
  agent.put(status("wl-b"));
  agent.put(status("wl-a", api::WorkloadState::kPending));
  makeLink("node-a", agent.address());
  EXPECT_FALSE(link->connected());
  startAndResync();
  EXPECT_TRUE(link->connected());
  EXPECT_EQ(log, (std::vector<std::string>{"connected", "resynced:2"}));
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].node_id, "node-a");
  EXPECT_EQ(infos[0].capacity, (api::Resources{4096, 8000}));
  ASSERT_EQ(resyncs[0].size(), 2u);
  EXPECT_EQ(resyncs[0][0].id, "wl-a");
  EXPECT_EQ(resyncs[0][1].id, "wl-b");
  EXPECT_EQ(agent.count("Hello"), 1);
  EXPECT_EQ(agent.count("ListWorkloads"), 1);
  EXPECT_EQ(agent.subscribers(), 1);
  // Calls share the one connection.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(call(protocol::GetStatus{"wl-a"}));
  EXPECT_EQ(agent.connections(), 1);
}

TEST_F(AgentLinkTest, ManyCallsInFlightAreMatchedByReq) {
  constexpr int kCalls = 40;
  for (int i = 0; i < kCalls; ++i) agent.put(status("wl-" + pad(i)));
  auto options = fastOptions();
  options.max_in_flight = kCalls;
  makeLink("node-a", agent.address(), options);
  startAndResync();
  // The agent answers the next kCalls requests in reverse order.
  agent.holdReplies(kCalls);
  std::size_t max_in_flight = 0;
  for (int i = 0; i < kCalls; ++i) {
    const std::string id = "wl-" + pad(i);
    asio::co_spawn(
        io,
        [this, id]() -> asio::awaitable<void> {
          protocol::RequestBody request = protocol::GetStatus{id};
          auto reply = co_await link->call(std::move(request), 5s);
          if (!reply) {
            answered[id] = "error: " + reply.error().message;
          } else if (auto* s = std::get_if<api::WorkloadStatus>(&*reply)) {
            answered[id] = s->id;
          }
        },
        asio::detached);
  }
  ASSERT_TRUE(runUntil(io, [&] {
    max_in_flight = std::max(max_in_flight, link->inFlight());
    return answered.size() == kCalls;
  }));
  for (const auto& [asked, got] : answered) EXPECT_EQ(asked, got);
  EXPECT_EQ(max_in_flight, static_cast<std::size_t>(kCalls));
  EXPECT_EQ(link->inFlight(), 0u);
  EXPECT_EQ(agent.connections(), 1);
}

TEST_F(AgentLinkTest, AgentErrorsKeepTheirCodeAndMessage) {
  makeLink("node-a", agent.address());
  startAndResync();
  auto reply = call(protocol::GetStatus{"wl-missing"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kNotFound);
  EXPECT_NE(reply.error().message.find("wl-missing"), std::string::npos);
  // Hello and Logs are not for call().
  auto hello = call(protocol::Hello{"node-a", true});
  ASSERT_FALSE(hello);
  EXPECT_EQ(hello.error().code, Code::kInvalidArgument);
  EXPECT_TRUE(link->connected());
}

TEST_F(AgentLinkTest, TimeoutFailsTheCallAndDropsItsLateReply) {
  agent.put(status("wl-a"));
  agent.put(status("wl-b"));
  makeLink("node-a", agent.address());
  startAndResync();
  agent.holdReplies(2);  // wl-a's answer waits for the next request's
  auto late = call(protocol::GetStatus{"wl-a"}, 100ms);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Code::kDeadlineExceeded);
  EXPECT_NE(late.error().message.find("GetStatus to node \"node-a\""), std::string::npos)
      << late.error().message;
  // Now both answers come, wl-a's late one last: it is dropped, the
  // connection stays.
  auto reply = call(protocol::GetStatus{"wl-b"});
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_EQ(std::get<api::WorkloadStatus>(*reply).id, "wl-b");
  auto again = call(protocol::GetStatus{"wl-a"});
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(std::get<api::WorkloadStatus>(*again).id, "wl-a");
  EXPECT_TRUE(link->connected());
  EXPECT_EQ(agent.count("Hello"), 1);
}

TEST_F(AgentLinkTest, CallsBeyondTheCapWaitForASlot) {
  auto options = fastOptions();
  options.max_in_flight = 2;
  makeLink("node-a", agent.address(), options);
  startAndResync();
  agent.setMode(FakeAgent::Mode::kSilent);
  for (auto timeout : {30s, 30s}) {
    asio::co_spawn(
        io,
        [this, timeout]() -> asio::awaitable<void> {
          protocol::RequestBody request = protocol::NodeInfo{};
          results.push_back(co_await link->call(std::move(request), timeout));
        },
        asio::detached);
  }
  ASSERT_TRUE(runUntil(io, [&] { return agent.count("NodeInfo") == 2; }));
  auto third = call(protocol::NodeInfo{}, 100ms);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, Code::kDeadlineExceeded);
  EXPECT_NE(third.error().message.find("2 calls in flight"), std::string::npos)
      << third.error().message;
  EXPECT_EQ(agent.count("NodeInfo"), 2);  // never sent
  // Shutdown ends the two in flight.
  link->shutdown();
  ASSERT_TRUE(runUntil(io, [&] { return results.size() == 2; }));
  for (const auto& r : results) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::kCancelled);
  }
}

TEST_F(AgentLinkTest, ReconnectsAndResyncsAfterTheAgentRestarts) {
  agent.put(status("wl-a"));
  makeLink("node-a", agent.address());
  startAndResync();
  agent.stop();
  ASSERT_TRUE(runUntil(io, [&] { return !disconnects.empty(); }));
  EXPECT_EQ(disconnects[0].first, node_reason::kConnectionLost);
  EXPECT_FALSE(link->connected());
  // While it is away: refused, retried, and calls fail at once.
  ASSERT_TRUE(runUntil(io, [&] { return disconnects.size() >= 3; }));
  EXPECT_EQ(disconnects.back().first, node_reason::kConnectionRefused);
  auto away = call(protocol::GetStatus{"wl-a"});
  ASSERT_FALSE(away);
  EXPECT_EQ(away.error().code, Code::kUnavailable);
  EXPECT_NE(away.error().message.find("cannot connect"), std::string::npos) << away.error().message;

  agent.put(status("wl-new"));
  agent.restart();
  ASSERT_TRUE(runUntil(io, [&] { return resyncs.size() == 2; })) << lastDisconnect();
  ASSERT_EQ(resyncs[1].size(), 2u);
  EXPECT_EQ(resyncs[1][1].id, "wl-new");
  EXPECT_EQ(agent.count("Hello"), 2);
  ASSERT_TRUE(call(protocol::GetStatus{"wl-new"}));
}

TEST_F(AgentLinkTest, ACallInFlightFailsWhenTheConnectionDrops) {
  makeLink("node-a", agent.address());
  startAndResync();
  agent.setMode(FakeAgent::Mode::kSilent);
  asio::co_spawn(
      io,
      [this]() -> asio::awaitable<void> {
        protocol::RequestBody request = protocol::NodeInfo{};
        results.push_back(co_await link->call(std::move(request), 30s));
      },
      asio::detached);
  ASSERT_TRUE(runUntil(io, [&] { return agent.count("NodeInfo") == 1; }));
  agent.dropConnections();
  ASSERT_TRUE(runUntil(io, [&] { return results.size() == 1; }));
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, Code::kUnavailable);
  EXPECT_NE(results[0].error().message.find("connection lost"), std::string::npos)
      << results[0].error().message;
}

TEST_F(AgentLinkTest, HelloRefusedForAnotherNodeIsRememberedAndRetried) {
  FakeAgent other("node-b", {"native"}, {1024, 1000});
  makeLink("node-a", other.address());
  link->start();
  ASSERT_TRUE(runUntil(io, [&] { return disconnects.size() >= 2; }));
  EXPECT_EQ(disconnects[0].first, node_reason::kNodeIdMismatch);
  EXPECT_NE(disconnects[0].second.find("node-b"), std::string::npos) << disconnects[0].second;
  EXPECT_EQ(disconnects[1].first, node_reason::kNodeIdMismatch);
  EXPECT_GE(other.count("Hello"), 2);
  EXPECT_EQ(other.count("ListWorkloads"), 0);
  EXPECT_FALSE(link->connected());
  EXPECT_TRUE(resyncs.empty());
  auto reply = call(protocol::NodeInfo{});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kUnavailable);
  EXPECT_NE(reply.error().message.find("node-b"), std::string::npos) << reply.error().message;
}

TEST_F(AgentLinkTest, PushesAreDeliveredAfterTheResync) {
  agent.put(status("wl-a", api::WorkloadState::kPending));
  makeLink("node-a", agent.address());
  startAndResync();
  agent.setState("wl-a", api::WorkloadState::kRunning);
  ASSERT_TRUE(runUntil(io, [&] { return pushes.size() == 1; }));
  EXPECT_EQ(pushes[0].id, "wl-a");
  EXPECT_EQ(pushes[0].state, api::WorkloadState::kRunning);
  agent.setState("wl-a", api::WorkloadState::kFailed, "Error", 1);
  ASSERT_TRUE(runUntil(io, [&] { return pushes.size() == 2; }));
  EXPECT_EQ(pushes[1].exit_code, 1);
}

TEST_F(AgentLinkTest, PushesDuringTheHandUpAreHeldUntilItReturns) {
  agent.put(status("wl-a", api::WorkloadState::kPending));
  makeLink("node-a", agent.address());
  during_resync = [this]() -> asio::awaitable<void> {
    agent.setState("wl-a", api::WorkloadState::kRunning);
    // The answer to a call comes after the push on the same connection, so
    // the push has arrived when the call returns.
    protocol::RequestBody request = protocol::GetStatus{"wl-a"};
    auto reply = co_await link->call(std::move(request), 5s);
    log.push_back(reply ? "called" : "call failed");
  };
  startAndResync();
  ASSERT_TRUE(runUntil(io, [&] { return pushes.size() == 1; }));
  EXPECT_EQ(log,
            (std::vector<std::string>{"connected", "resynced:1", "called", "pushed:wl-a:Running"}));
}

TEST_F(AgentLinkTest, PushesDuringTheListingMergeByArrivalOrder) {
  agent.put(status("wl-a", api::WorkloadState::kPending));
  agent.put(status("wl-b", api::WorkloadState::kPending));
  auto options = fastOptions();
  options.resync_page = 1;  // two pages: [wl-a], [wl-b]
  makeLink("node-a", agent.address(), options);
  on_connected = [this] {
    // These arrive between the two pages.
    agent.pushAfterNextList(status("wl-a", api::WorkloadState::kRunning));    // newer: wins
    agent.pushAfterNextList(status("wl-b", api::WorkloadState::kSucceeded));  // older than page 2
    agent.pushAfterNextList(status("wl-0", api::WorkloadState::kPending));    // started meanwhile
  };
  startAndResync();
  EXPECT_EQ(agent.count("ListWorkloads"), 2);
  ASSERT_EQ(resyncs[0].size(), 3u);
  EXPECT_EQ(resyncs[0][0].id, "wl-0");
  EXPECT_EQ(resyncs[0][1].id, "wl-a");
  EXPECT_EQ(resyncs[0][1].state, api::WorkloadState::kRunning);
  EXPECT_EQ(resyncs[0][2].id, "wl-b");
  EXPECT_EQ(resyncs[0][2].state, api::WorkloadState::kPending);
  ASSERT_TRUE(call(protocol::NodeInfo{}));
  EXPECT_TRUE(pushes.empty());  // merged, not delivered again
}

TEST_F(AgentLinkTest, ResyncPagesThroughMoreThanOnePage) {
  constexpr int kWorkloads = 1203;
  for (int i = 0; i < kWorkloads; ++i) agent.put(status("wl-" + pad(i)));
  makeLink("node-a", agent.address());
  startAndResync();
  EXPECT_EQ(agent.count("ListWorkloads"), 3);  // 500 + 500 + 203
  ASSERT_EQ(resyncs[0].size(), static_cast<std::size_t>(kWorkloads));
  for (int i = 0; i < kWorkloads; ++i) EXPECT_EQ(resyncs[0][i].id, "wl-" + pad(i));
}

TEST_F(AgentLinkTest, AnOverlongLineDropsTheConnection) {
  makeLink("node-a", agent.address());
  startAndResync();
  agent.sendRaw(std::string(protocol::kMaxLineBytes + 10, 'x'));
  ASSERT_TRUE(runUntil(io, [&] { return !disconnects.empty(); }));
  EXPECT_EQ(disconnects[0].first, node_reason::kConnectionLost);
  EXPECT_NE(disconnects[0].second.find("longer than"), std::string::npos) << disconnects[0].second;
  // And it comes back on a new connection.
  ASSERT_TRUE(runUntil(io, [&] { return resyncs.size() == 2; })) << lastDisconnect();
  EXPECT_EQ(agent.count("Hello"), 2);
}

TEST_F(AgentLinkTest, AnUndecodableLineDropsTheConnection) {
  makeLink("node-a", agent.address());
  startAndResync();
  agent.sendRaw("{\"type\": \"Status\", \"req\": 12");
  ASSERT_TRUE(runUntil(io, [&] { return !disconnects.empty(); }));
  EXPECT_EQ(disconnects[0].first, node_reason::kConnectionLost);
  EXPECT_NE(disconnects[0].second.find("undecodable"), std::string::npos) << disconnects[0].second;
  ASSERT_TRUE(runUntil(io, [&] { return resyncs.size() == 2; })) << lastDisconnect();
}

TEST_F(AgentLinkTest, RefusedConnectionIsUnavailable) {
  const auto address = closedAddress();
  makeLink("node-a", address);
  link->start();
  ASSERT_TRUE(runUntil(io, [&] { return !disconnects.empty(); }));
  EXPECT_EQ(disconnects[0].first, node_reason::kConnectionRefused);
  EXPECT_NE(disconnects[0].second.find(address), std::string::npos) << disconnects[0].second;
  auto reply = call(protocol::NodeInfo{});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Code::kUnavailable);
}

TEST_F(AgentLinkTest, HeartbeatsFollowTheCallersClock) {
  makeLink("node-a", agent.address());
  startAndResync();
  const MonotonicTime t0 = MonotonicTime{} + std::chrono::hours(1000);
  link->tick(t0);
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 1; }));
  EXPECT_EQ(heartbeats[0].node_id, "node-a");
  link->tick(t0 + 999ms);  // not due yet
  link->tick(t0 + 1s);
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 2; }));
  link->tick(t0 + 1500ms);
  // A further tick at the same time sends nothing: exactly two were sent.
  EXPECT_EQ(agent.count("NodeInfo"), 2);
}

TEST_F(AgentLinkTest, AHeartbeatPhaseDelaysOnlyTheFirstHeartbeat) {
  const MonotonicTime t0 = startWithHeartbeatPhase();
  link->tick(t0 + 299ms);
  link->tick(t0 + 299ms);
  EXPECT_EQ(agent.count("NodeInfo"), 0);  // Hello's answer is not a heartbeat
  link->tick(t0 + 300ms);
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 1; }));
  link->tick(t0 + 1299ms);  // then every interval
  link->tick(t0 + 1300ms);
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 2; }));
  EXPECT_EQ(agent.count("NodeInfo"), 2);
}

// A server busy for a while ticks late. The heartbeat then goes at that
// tick, but the next one stays on the link's own grid: counted from the late
// tick, every link the server was late for would beat together from then on.
TEST_F(AgentLinkTest, ALateTickKeepsTheLinksHeartbeatGrid) {
  const MonotonicTime t0 = startWithHeartbeatPhase();
  link->tick(t0 + 300ms);
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 1; }));
  link->tick(t0 + 1900ms);  // 600 ms late
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 2; }));
  link->tick(t0 + 2299ms);
  EXPECT_FALSE(runUntil(
      io, [&] { return heartbeats.size() == 3; }, 200ms));
  link->tick(t0 + 2300ms);  // on the grid, not at 2,900 ms
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 3; }));
  // Beats missed altogether are not made up: one heartbeat, then the grid.
  link->tick(t0 + 5700ms);
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 4; }));
  link->tick(t0 + 5800ms);
  link->tick(t0 + 6299ms);
  EXPECT_FALSE(runUntil(
      io, [&] { return heartbeats.size() == 5; }, 200ms));
  link->tick(t0 + 6300ms);
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 5; }));
}

TEST_F(AgentLinkTest, AnUnansweredHeartbeatDropsTheConnection) {
  auto options = fastOptions();
  options.heartbeat_timeout = 100ms;
  makeLink("node-a", agent.address(), options);
  startAndResync();
  agent.setMode(FakeAgent::Mode::kSilent);
  link->tick(MonotonicTime{} + std::chrono::hours(1000));
  ASSERT_TRUE(runUntil(io, [&] { return !disconnects.empty(); }));
  EXPECT_EQ(disconnects[0].first, node_reason::kNoHeartbeat);
  EXPECT_FALSE(link->connected());
  // Back to normal: a new Hello and resync.
  agent.setMode(FakeAgent::Mode::kNormal);
  ASSERT_TRUE(runUntil(io, [&] { return resyncs.size() == 2; })) << lastDisconnect();
}

// Slow calls (removals of containers that ignore SIGTERM) fill at most the
// link's cap, below the agent's limit; the heartbeat is outside the cap and
// is answered while they wait (§3, §8.1).
TEST_F(AgentLinkTest, AHeartbeatIsAnsweredWhileManySlowCallsWait) {
  constexpr int kRemovals = 100;
  for (int i = 0; i < kRemovals; ++i) agent.put(status("wl-" + pad(i)));
  makeLink("node-a", agent.address());
  startAndResync();
  agent.setMaxSlowCalls(64);  // the agent reads nothing more while it holds 64
  agent.holdSlowCalls(true);
  for (int i = 0; i < kRemovals; ++i) {
    const std::string id = "wl-" + pad(i);
    asio::co_spawn(
        io,
        [this, id]() -> asio::awaitable<void> {
          protocol::RequestBody request = protocol::RemoveWorkload{id, 10};
          auto reply = co_await link->call(std::move(request), 30s);
          answered[id] = reply ? "removed" : "error: " + reply.error().message;
        },
        asio::detached);
  }
  const auto cap = AgentLinkOptions{}.max_in_flight;
  ASSERT_LT(cap, 64u);
  ASSERT_TRUE(runUntil(io, [&] { return agent.heldSlowCalls() == static_cast<int>(cap); }));
  EXPECT_EQ(link->inFlight(), cap);
  // The heartbeat goes out beside them and is answered.
  link->tick(MonotonicTime{} + std::chrono::hours(1000));
  ASSERT_TRUE(runUntil(io, [&] { return heartbeats.size() == 1 || !disconnects.empty(); }))
      << lastDisconnect();
  EXPECT_EQ(heartbeats.size(), 1u);
  EXPECT_TRUE(disconnects.empty()) << lastDisconnect();
  EXPECT_LE(agent.heldSlowCalls(), static_cast<int>(cap));
  // Released, every removal completes on the same connection.
  agent.releaseSlowCalls();
  ASSERT_TRUE(runUntil(io, [&] { return answered.size() == kRemovals; }));
  for (const auto& [id, outcome] : answered) EXPECT_EQ(outcome, "removed") << id;
  EXPECT_EQ(agent.count("Hello"), 1);
}

TEST_F(AgentLinkTest, PushesHeldDuringTheHandUpAreBounded) {
  agent.put(status("wl-a", api::WorkloadState::kPending));
  auto options = fastOptions();
  options.max_held_pushes = 3;
  makeLink("node-a", agent.address(), options);
  during_resync = [this]() -> asio::awaitable<void> {
    if (resyncs.size() > 1) co_return;
    // Four changes while the first hand-up runs: one more than may wait.
    for (int i = 0; i < 4; ++i) agent.setState("wl-a", api::WorkloadState::kRunning, "", i);
    protocol::RequestBody request = protocol::GetStatus{"wl-a"};
    auto reply = co_await link->call(std::move(request), 5s);
    log.push_back(reply ? "called" : "call failed");
  };
  startAndResync();
  // The connection was dropped instead of holding the fourth; the next
  // resync lists the latest state, and nothing held was delivered.
  ASSERT_TRUE(runUntil(io, [&] { return resyncs.size() == 2; })) << lastDisconnect();
  ASSERT_EQ(disconnects.size(), 1u);
  EXPECT_EQ(disconnects[0].first, node_reason::kConnectionLost);
  EXPECT_NE(disconnects[0].second.find("more than 3 status changes"), std::string::npos)
      << disconnects[0].second;
  EXPECT_TRUE(pushes.empty());
  ASSERT_EQ(resyncs[1].size(), 1u);
  EXPECT_EQ(resyncs[1][0].exit_code, 3);
  EXPECT_EQ(agent.count("Hello"), 2);
}

std::vector<std::string> drain(asio::io_context& io, LogStream& stream, std::string& end) {
  std::vector<std::string> lines;
  while (true) {
    auto item = runTask(io, stream.next());
    if (!item) {
      end = "error: " + item.error().toString();
      return lines;
    }
    if (auto* line = std::get_if<protocol::LogLine>(&*item)) {
      lines.push_back(line->stream + ":" + line->line);
    } else {
      end = std::get<protocol::LogEnd>(*item).reason;
      return lines;
    }
  }
}

protocol::LogLine logLine(std::string text, std::string stream = "stdout") {
  return protocol::LogLine{"2026-01-01T00:00:00.000000001Z", std::move(stream), std::move(text),
                           false};
}

TEST_F(AgentLinkTest, LogsUseTheirOwnConnection) {
  agent.setLog("wl-a", {logLine("one"), logLine("two", "stderr"), logLine("three")});
  makeLink("node-a", agent.address());
  startAndResync();
  protocol::Logs request{"wl-a", 2, false, false};
  auto stream = runTask(io, link->openLogs(request));
  ASSERT_TRUE(stream) << stream.error().toString();
  EXPECT_EQ(agent.count("Hello"), 2);
  EXPECT_EQ(agent.subscribers(), 1);  // the log connection does not subscribe
  std::string end;
  EXPECT_EQ(drain(io, **stream, end), (std::vector<std::string>{"stderr:two", "stdout:three"}));
  EXPECT_EQ(end, "Completed");
  auto after = runTask(io, (*stream)->next());
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Code::kUnavailable);

  auto missing = runTask(io, link->openLogs(protocol::Logs{"wl-none", std::nullopt, false, false}));
  ASSERT_TRUE(missing);
  EXPECT_EQ(drain(io, **missing, end), std::vector<std::string>{});
  EXPECT_EQ(end, "NotFound");
}

TEST_F(AgentLinkTest, FollowedLogsStreamUntilTheEndAndCloseWithTheStream) {
  agent.setLog("wl-a", {logLine("one")});
  makeLink("node-a", agent.address());
  startAndResync();
  auto stream = runTask(io, link->openLogs(protocol::Logs{"wl-a", std::nullopt, true, false}));
  ASSERT_TRUE(stream) << stream.error().toString();
  auto first = runTask(io, (*stream)->next());
  ASSERT_TRUE(first);
  EXPECT_EQ(std::get<protocol::LogLine>(*first).line, "one");
  agent.appendLog("wl-a", logLine("two"));
  auto second = runTask(io, (*stream)->next());
  ASSERT_TRUE(second);
  EXPECT_EQ(std::get<protocol::LogLine>(*second).line, "two");
  EXPECT_EQ(agent.connections(), 2);
  stream->reset();  // destroying the stream closes its connection
  EXPECT_TRUE(runUntil(io, [&] { return agent.connections() == 1; }));

  // A stream destroyed while a read waits ends that read.
  auto again = runTask(io, link->openLogs(protocol::Logs{"wl-a", 0, true, false}));
  ASSERT_TRUE(again);
  std::optional<Result<LogStream::Item>> pending;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { pending = co_await (*again)->next(); }, asio::detached);
  io.poll();
  again->reset();
  ASSERT_TRUE(runUntil(io, [&] { return pending.has_value(); }));
  ASSERT_FALSE(*pending);
  EXPECT_EQ(pending->error().code, Code::kCancelled);
}

TEST_F(AgentLinkTest, LogsOfAnotherNodeAreRefused) {
  FakeAgent other("node-b", {"native"}, {1024, 1000});
  makeLink("node-a", other.address());
  auto stream = runTask(io, link->openLogs(protocol::Logs{"wl-a", std::nullopt, false, false}));
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error().code, Code::kFailedPrecondition);
  EXPECT_NE(stream.error().message.find("node-b"), std::string::npos) << stream.error().message;
  auto closed = closedAddress();
  makeLink("node-a", closed);
  auto refused = runTask(io, link->openLogs(protocol::Logs{"wl-a", std::nullopt, false, false}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
}

TEST_F(AgentLinkTest, LogStreamsPerNodeAreCapped) {
  agent.setLog("wl-a", {logLine("one")});
  auto options = fastOptions();
  options.max_log_streams = 3;
  makeLink("node-a", agent.address(), options);
  startAndResync();
  std::vector<std::unique_ptr<LogStream>> streams;
  for (int i = 0; i < 3; ++i) {
    auto stream = runTask(io, link->openLogs(protocol::Logs{"wl-a", std::nullopt, true, false}));
    ASSERT_TRUE(stream) << stream.error().toString();
    streams.push_back(std::move(*stream));
  }
  EXPECT_EQ(link->openLogStreams(), 3u);
  auto refused = runTask(io, link->openLogs(protocol::Logs{"wl-a", std::nullopt, true, false}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kResourceExhausted);
  EXPECT_NE(refused.error().message.find("too many log streams for node \"node-a\""),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(agent.connections(), 4);  // the main one and three streams: no fourth
  // A stream that ends (here: closed by its reader) frees its slot.
  streams.front()->cancel();
  streams.erase(streams.begin());
  auto again = runTask(io, link->openLogs(protocol::Logs{"wl-a", std::nullopt, true, false}));
  ASSERT_TRUE(again) << again.error().toString();
  // So does one the agent ends.
  agent.endLogs("wl-a");
  for (auto& stream : streams) {
    std::string end;
    drain(io, *stream, end);
    EXPECT_EQ(end, "Completed");
  }
  EXPECT_EQ(link->openLogStreams(), 1u);
}

TEST_F(AgentLinkTest, ShutdownEndsEverythingSoTheExecutorRunsOut) {
  makeLink("node-a", agent.address());
  startAndResync();
  auto stream = runTask(io, link->openLogs(protocol::Logs{"wl-a", std::nullopt, true, false}));
  ASSERT_TRUE(stream);
  agent.setMode(FakeAgent::Mode::kSilent);
  asio::co_spawn(
      io,
      [this]() -> asio::awaitable<void> {
        protocol::RequestBody request = protocol::NodeInfo{};
        results.push_back(co_await link->call(std::move(request), 30s));
      },
      asio::detached);
  ASSERT_TRUE(runUntil(io, [&] { return agent.count("NodeInfo") == 1; }));
  link->shutdown();
  io.restart();
  io.run_for(10s);
  EXPECT_TRUE(io.stopped());
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, Code::kCancelled);
  EXPECT_EQ(disconnects.size(), 0u);  // no event after shutdown
  auto after = call(protocol::NodeInfo{});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Code::kCancelled);
}

}  // namespace
}  // namespace zp::server
