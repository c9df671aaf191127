// What a peer may cost the agent (docs/architecture.md §9.2), over mutual
// TLS as in production: idle connections are closed unless they subscribe
// or have a slow request in progress; all connections together buffer a
// bounded number of bytes of unread partial lines; and at the connection cap
// the connection idle longest (a handshake counting from its accept) makes
// room, never the subscribed one.

#include <nlohmann/json.hpp>
#include <string>

#include "tls_server_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

TEST_F(TlsServerTest, AnIdleConnectionIsClosedButNotASubscriberOrOneWithASlowRequest) {
  const auto container = run("held");
  runtime_.holdStops(container);
  ServerLimits limits;
  limits.idle_timeout = 300ms;
  ASSERT_NO_FATAL_FAILURE(startTlsServer(limits));
  auto subscriber = connectAsServer();
  ASSERT_TRUE(subscriber.hello("node-1", /*subscribe=*/true).has_value());
  auto busy = connectAsServer();
  ASSERT_TRUE(busy.hello("node-1").has_value());
  ASSERT_TRUE(busy.send(Json{{"type", "RemoveWorkload"}, {"id", "held"}, {"req", "rm"}}).has_value());
  ASSERT_TRUE(testing::eventually([&] { return runtime_.stopHeld(container); }));
  // Heard from last, so idle for the shortest time: the others would be closed first.
  auto idle = connectAsServer();
  ASSERT_TRUE(idle.hello("node-1").has_value());

  EXPECT_TRUE(idle.waitClosed(30s)) << "the idle connection stayed open";
  auto node = callPastPushes(subscriber, Json{{"type", "NodeInfo"}});
  EXPECT_TRUE(node.has_value()) << "the subscriber was closed: " << node.error().toString();
  auto heartbeat = busy.call(Json{{"type", "NodeInfo"}});
  EXPECT_TRUE(heartbeat.has_value()) << "the busy connection was closed: "
                                     << heartbeat.error().toString();
  runtime_.finishStop(container);
  auto removed = busy.readJson(30s);
  ASSERT_TRUE(removed.has_value()) << removed.error().toString();
  EXPECT_EQ(removed->value("type", ""), "Removed") << removed->dump();
  // Its request done, the busy connection is idle from now on.
  EXPECT_TRUE(busy.waitClosed(30s)) << "the connection stayed open once its request ended";
}

// Two connections each send 60 KiB of a line while the agent may buffer
// 100 KiB in all: the read that passes the bound gets ResourceExhausted and
// its connection closes; the other's line goes through, and the bytes are
// given back when connections end.
TEST_F(TlsServerTest, TheBufferedBytesBoundClosesTheConnectionThatPassesIt) {
  ServerLimits limits;
  limits.max_buffered_bytes = 100 * 1024;
  ASSERT_NO_FATAL_FAILURE(startTlsServer(limits));
  std::string partial = R"({"type":"NodeInfo","req":"big"})";
  partial.resize(60 * 1024, ' ');
  auto first = connectAsServer();
  auto second = connectAsServer();
  ASSERT_TRUE(first.hello("node-1").has_value());
  ASSERT_TRUE(second.hello("node-1").has_value());
  ASSERT_TRUE(first.sendRaw(partial).has_value());
  ASSERT_TRUE(second.sendRaw(partial).has_value());

  // Exactly one is refused; which one depends on the order of the reads.
  LineClient* refused = nullptr;
  LineClient* kept = nullptr;
  ASSERT_TRUE(testing::eventually([&] {
    for (auto* c : {&first, &second}) {
      auto line = c->readJson(10ms);
      if (!line) continue;
      EXPECT_EQ(line->value("code", ""), "ResourceExhausted") << line->dump();
      refused = c;
      kept = c == &first ? &second : &first;
      return true;
    }
    return false;
  })) << "neither connection was refused";
  EXPECT_TRUE(refused->waitClosed(30s)) << "the refused connection stayed open";
  ASSERT_TRUE(kept->sendRaw("\n").has_value());
  auto node = kept->readJson(30s);
  ASSERT_TRUE(node.has_value()) << node.error().toString();
  EXPECT_EQ(node->value("type", ""), "Node") << node->dump();
  EXPECT_EQ(node->value("req", ""), "big") << node->dump();
  // Everything was given back: another 60 KiB fits now.
  auto third = connectAsServer();
  ASSERT_TRUE(third.hello("node-1").has_value());
  ASSERT_TRUE(third.sendRaw(partial + "\n").has_value());
  auto again = third.readJson(30s);
  ASSERT_TRUE(again.has_value()) << again.error().toString();
  EXPECT_EQ(again->value("type", ""), "Node") << again->dump();
}

// With room for 4 (3 that do not subscribe + 1 reserved), each new
// connection closes one that does not subscribe: strangers (in the TLS
// handshake, counted from their accept) before greeted connections, and
// within each group the one idle longest (a greeted one counts from its last
// request); the subscriber is never chosen.
TEST_F(TlsServerTest, AtTheCapTheConnectionIdleLongestMakesRoom) {
  ServerLimits limits;
  limits.max_connections = 3;
  limits.subscriber_reserve = 1;
  limits.handshake_timeout = 10min;  // only eviction closes anything here
  ASSERT_NO_FATAL_FAILURE(startTlsServer(limits));
  auto subscriber = connectAsServer();  // the oldest of all
  ASSERT_TRUE(subscriber.hello("node-1", /*subscribe=*/true).has_value());
  auto a = connectAsServer();
  ASSERT_TRUE(a.hello("node-1").has_value());
  auto b = connectAsServer();
  ASSERT_TRUE(b.hello("node-1").has_value());
  auto c = connectPlain();  // stays in its handshake
  // A round trip after c's connect: the agent has accepted c before it
  // answers, and so before a's next request.
  ASSERT_TRUE(subscriber.call(Json{{"type", "NodeInfo"}}).has_value());
  ASSERT_TRUE(a.call(Json{{"type", "NodeInfo"}}).has_value());
  // Idle longest first: b (its Hello), c (its accept), a (its NodeInfo).

  auto d = connectAsServer();
  EXPECT_TRUE(c.waitClosed(30s)) << "c, a stranger in its handshake, stayed open";
  ASSERT_TRUE(d.hello("node-1").has_value());
  auto e = connectPlain();
  EXPECT_TRUE(b.waitClosed(30s)) << "b, the greeted connection idle longest, stayed open";
  auto f = connectAsServer();
  EXPECT_TRUE(e.waitClosed(30s)) << "e, a stranger, stayed open";
  ASSERT_TRUE(f.hello("node-1").has_value());
  auto still = a.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(still.has_value()) << "a was closed: " << still.error().toString();
  // The subscriber, idle longer than all of them, was never chosen.
  auto node = subscriber.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(node.has_value()) << node.error().toString();
  EXPECT_EQ(node->value("type", ""), "Node") << node->dump();
}

}  // namespace
}  // namespace zp::agent
