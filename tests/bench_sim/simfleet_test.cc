// The simulated fleet (bench/sim) speaks the agent protocol of
// docs/architecture.md §3: a fleet of three nodes is started in-process and
// driven over TCP with the protocol's own codec.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "protocol/messages.h"
#include "sim/sim_fleet.h"
#include "sim/sim_registry.h"

namespace zp::sim {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using protocol::Reply;
using protocol::Request;

// A blocking protocol client. Reads give up after 30 s (a guard against a
// hung test, not a timing expectation).
class Client {
 public:
  explicit Client(const std::string& address) : socket_(io_) {
    const auto colon = address.rfind(':');
    tcp::endpoint endpoint(asio::ip::make_address(address.substr(0, colon)),
                           static_cast<unsigned short>(std::stoi(address.substr(colon + 1))));
    socket_.connect(endpoint);
    timeval timeout{30, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }

  void send(protocol::RequestBody body, std::string req) {
    sendLine(protocol::encodeRequest(Request{std::move(req), std::move(body)}));
  }
  void sendLine(std::string line) {
    line.push_back('\n');
    asio::write(socket_, asio::buffer(line));
  }

  // The next line, decoded; an error at end of stream.
  Result<Reply> next() {
    boost::system::error_code ec;
    const std::size_t n = asio::read_until(socket_, asio::dynamic_buffer(buffer_), '\n', ec);
    if (ec) return fail(Code::kUnavailable, ec.message());
    std::string line = buffer_.substr(0, n - 1);
    buffer_.erase(0, n);
    return protocol::decodeReply(line);
  }

  // True when the peer closed the connection (after what it had sent).
  bool closedByPeer() {
    boost::system::error_code ec;
    char byte;
    if (!buffer_.empty()) return false;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  // Sends a request and returns its reply (checking the echoed req).
  Reply call(protocol::RequestBody body) {
    const std::string req = "r" + std::to_string(++counter_);
    send(std::move(body), req);
    auto reply = next();
    if (!reply) {
      ADD_FAILURE() << reply.error().toString();
      return {};
    }
    EXPECT_EQ(reply->req, req);
    return *reply;
  }

  Reply hello(const std::string& node, bool subscribe = false) {
    return call(protocol::Hello{node, subscribe});
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  std::string buffer_;
  int counter_ = 0;
};

api::WorkloadSpec spec(const std::string& id) {
  api::WorkloadSpec s;
  s.id = id;
  s.image = "busybox:1.36";
  s.runtime_class = "native";
  s.memory_mb = 256;
  s.cpu_millicores = 500;
  return s;
}

const api::WorkloadStatus* statusOf(const Reply& reply) {
  return std::get_if<api::WorkloadStatus>(&reply.body);
}

// The error code of an Error reply; nullopt for any other reply.
std::optional<Code> errorOf(const Reply& reply) {
  const auto* e = std::get_if<protocol::ErrorReply>(&reply.body);
  return e ? std::optional<Code>(e->error.code) : std::nullopt;
}

class SimFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FleetOptions options;
    options.nodes = 3;
    options.threads = 2;
    options.memory_mb = 4096;
    options.cpu_millicores = 4000;
    options.runtime_classes = {"native", "edera-zone"};
    auto started = SimFleet::start(options);
    ASSERT_TRUE(started) << started.error().toString();
    fleet_ = std::move(*started);
  }

  std::string address(int node) const { return fleet_->endpoints()[node].address; }

  std::unique_ptr<SimFleet> fleet_;
};

TEST_F(SimFleetTest, EveryNodeHasItsIdAndPort) {
  const auto& endpoints = fleet_->endpoints();
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[0].node, "sim-0001");
  EXPECT_EQ(endpoints[1].node, "sim-0002");
  EXPECT_EQ(endpoints[2].node, "sim-0003");
  for (int i = 0; i < 3; ++i) {
    Client client(address(i));
    auto reply = client.hello(endpoints[i].node);
    const auto* node = std::get_if<api::NodeInfo>(&reply.body);
    ASSERT_TRUE(node) << protocol::typeName(reply.body);
    EXPECT_EQ(node->node_id, endpoints[i].node);
    EXPECT_EQ(node->capacity, (api::Resources{4096, 4000}));
    EXPECT_EQ(node->allocatable, node->capacity);
    EXPECT_EQ(node->runtime_classes, (std::vector<std::string>{"edera-zone", "native"}));
    EXPECT_EQ(node->workloads, 0);
  }
}

TEST_F(SimFleetTest, EveryClassReportsItsVerificationOnlyWhenAsked) {
  Client client(address(0));
  auto hello = client.hello("sim-0001");
  const auto* node = std::get_if<api::NodeInfo>(&hello.body);
  ASSERT_TRUE(node);
  ASSERT_TRUE(node->isolation);
  ASSERT_EQ(node->isolation->size(), 2u);
  for (const auto& c : *node->isolation) {
    EXPECT_EQ(c.level, api::IsolationLevel::kApplicationKernel) << c.runtime_class;
    EXPECT_EQ(c.score, 70);
    EXPECT_FALSE(c.quarantined());
    EXPECT_TRUE(c.verified_at);
  }
  EXPECT_EQ((*node->isolation)[0].runtime_class, "edera-zone");
  // A heartbeat naming the revision it holds gets no list; another gets it.
  const std::int64_t revision = node->isolation_revision;
  auto same = client.call(protocol::NodeInfo{revision});
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(same.body));
  EXPECT_FALSE(std::get<api::NodeInfo>(same.body).isolation);
  auto other = client.call(protocol::NodeInfo{revision + 7});
  EXPECT_TRUE(std::get<api::NodeInfo>(other.body).isolation);
  // A probe answers at once; an unknown class is NotFound.
  auto probed = client.call(protocol::ProbeIsolation{"native"});
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(probed.body));
  EXPECT_EQ(std::get<api::NodeInfo>(probed.body).isolation->size(), 2u);
  EXPECT_EQ(errorOf(client.call(protocol::ProbeIsolation{"kata"})), Code::kNotFound);
}

TEST(SimRegistryTest, TheReportedVerificationIsConfigurable) {
  RegistryOptions options{"sim-0001", {1024, 1000}, {"runc"}, "test", {}};
  options.isolation = {api::IsolationLevel::kSharedKernel, 50, TimePoint{}};
  SimRegistry shared(options);
  auto info = shared.nodeInfo();
  ASSERT_TRUE(info.isolation);
  EXPECT_EQ((*info.isolation)[0].level, api::IsolationLevel::kSharedKernel);
  EXPECT_EQ((*info.isolation)[0].score, 50);
  options.isolation = {api::IsolationLevel::kUnverified, 0, TimePoint{}};
  auto unverified = SimRegistry(options).nodeInfo();
  EXPECT_EQ((*unverified.isolation)[0].level, api::IsolationLevel::kUnverified);
  EXPECT_FALSE((*unverified.isolation)[0].verified_at);
}

TEST_F(SimFleetTest, AHelloForAnotherNodeIsRefusedAndTheConnectionCloses) {
  Client client(address(1));
  // Anything before Hello is refused, on an open connection.
  EXPECT_EQ(errorOf(client.call(protocol::NodeInfo{})), Code::kFailedPrecondition);
  EXPECT_EQ(errorOf(client.call(protocol::GetStatus{"wl-1"})), Code::kFailedPrecondition);
  // A Hello meant for another node: refused, then closed.
  EXPECT_EQ(errorOf(client.hello("sim-0001")), Code::kFailedPrecondition);
  EXPECT_TRUE(client.closedByPeer());

  Client right(address(1));
  EXPECT_TRUE(std::holds_alternative<api::NodeInfo>(right.hello("sim-0002").body));
  EXPECT_TRUE(std::holds_alternative<api::NodeInfo>(right.call(protocol::NodeInfo{}).body));
}

TEST_F(SimFleetTest, AStartedWorkloadIsPendingThenRunningIsPushed) {
  Client client(address(0));
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(client.hello("sim-0001", true).body));
  auto reply = client.call(protocol::StartWorkload{spec("wl-a"), "uid-1"});
  const auto* pending = statusOf(reply);
  ASSERT_TRUE(pending) << protocol::typeName(reply.body);
  EXPECT_EQ(pending->id, "wl-a");
  EXPECT_EQ(pending->uid, "uid-1");
  EXPECT_EQ(pending->node, "sim-0001");
  EXPECT_EQ(pending->state, api::WorkloadState::kPending);

  auto pushed = client.next();
  ASSERT_TRUE(pushed) << pushed.error().toString();
  EXPECT_FALSE(pushed->req);
  const auto* event = std::get_if<protocol::WorkloadEvent>(&pushed->body);
  ASSERT_TRUE(event) << protocol::typeName(pushed->body);
  EXPECT_EQ(event->workload.id, "wl-a");
  EXPECT_EQ(event->workload.uid, "uid-1");
  EXPECT_EQ(event->workload.state, api::WorkloadState::kRunning);
  EXPECT_TRUE(event->workload.started_at);

  // Idempotent on (id, uid, spec): the same start answers the current status.
  auto again = client.call(protocol::StartWorkload{spec("wl-a"), "uid-1"});
  ASSERT_TRUE(statusOf(again));
  EXPECT_EQ(statusOf(again)->state, api::WorkloadState::kRunning);
  EXPECT_EQ(errorOf(client.call(protocol::StartWorkload{spec("wl-a"), "uid-2"})),
            Code::kAlreadyExists);
  auto bigger = spec("wl-a");
  bigger.memory_mb = 512;
  EXPECT_EQ(errorOf(client.call(protocol::StartWorkload{bigger, "uid-1"})), Code::kAlreadyExists);
  auto elsewhere = spec("wl-b");
  elsewhere.runtime_class = "gvisor";
  EXPECT_EQ(errorOf(client.call(protocol::StartWorkload{elsewhere, "uid-3"})),
            Code::kInvalidArgument);

  auto info = client.call(protocol::NodeInfo{});
  const auto* node = std::get_if<api::NodeInfo>(&info.body);
  ASSERT_TRUE(node);
  EXPECT_EQ(node->workloads, 1);
  EXPECT_EQ(node->allocatable, (api::Resources{4096 - 256, 4000 - 500}));

  // Stop: Succeeded, answered and pushed; the resources come back.
  auto stopped = client.call(protocol::StopWorkload{"wl-a"});
  ASSERT_TRUE(statusOf(stopped));
  EXPECT_EQ(statusOf(stopped)->state, api::WorkloadState::kSucceeded);
  auto stop_push = client.next();
  ASSERT_TRUE(stop_push);
  ASSERT_TRUE(std::holds_alternative<protocol::WorkloadEvent>(stop_push->body));
  EXPECT_EQ(std::get<protocol::WorkloadEvent>(stop_push->body).workload.state,
            api::WorkloadState::kSucceeded);
  info = client.call(protocol::NodeInfo{});
  EXPECT_EQ(std::get<api::NodeInfo>(info.body).allocatable, (api::Resources{4096, 4000}));
}

TEST_F(SimFleetTest, AConnectionWithoutSubscribeGetsNoPushes) {
  Client watcher(address(2));
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(watcher.hello("sim-0003", true).body));
  Client client(address(2));
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(client.hello("sim-0003").body));
  ASSERT_TRUE(statusOf(client.call(protocol::StartWorkload{spec("wl-a"), "uid-1"})));
  // The subscriber sees Running; the requester's next line is its next reply.
  auto pushed = watcher.next();
  ASSERT_TRUE(pushed);
  ASSERT_TRUE(std::holds_alternative<protocol::WorkloadEvent>(pushed->body));
  auto status = client.call(protocol::GetStatus{"wl-a"});
  ASSERT_TRUE(statusOf(status));
  EXPECT_EQ(statusOf(status)->state, api::WorkloadState::kRunning);
}

TEST_F(SimFleetTest, ListWorkloadsPagesInIdOrder) {
  Client client(address(2));
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(client.hello("sim-0003").body));
  for (const char* id : {"wl-d", "wl-b", "wl-e", "wl-a", "wl-c"}) {
    ASSERT_TRUE(statusOf(client.call(protocol::StartWorkload{spec(id), std::string("u-") + id})));
  }
  std::vector<std::string> seen;
  std::vector<std::size_t> pages;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto reply = client.call(protocol::ListWorkloads{2, after});
    const auto* list = std::get_if<protocol::WorkloadList>(&reply.body);
    ASSERT_TRUE(list) << protocol::typeName(reply.body);
    pages.push_back(list->items.size());
    for (const auto& item : list->items) {
      seen.push_back(item.id);
      EXPECT_EQ(item.uid, "u-" + item.id);
    }
    if (list->next.empty()) break;
    EXPECT_EQ(list->next, seen.back());
    after = list->next;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"wl-a", "wl-b", "wl-c", "wl-d", "wl-e"}));
  EXPECT_EQ(pages, (std::vector<std::size_t>{2, 2, 1}));
  // Exactly one full page: no continue.
  auto all = client.call(protocol::ListWorkloads{5, ""});
  EXPECT_EQ(std::get<protocol::WorkloadList>(all.body).items.size(), 5u);
  EXPECT_TRUE(std::get<protocol::WorkloadList>(all.body).next.empty());
}

TEST_F(SimFleetTest, RemoveWithAnotherUidIsFenced) {
  Client client(address(0));
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(client.hello("sim-0001").body));
  ASSERT_TRUE(statusOf(client.call(protocol::StartWorkload{spec("wl-a"), "uid-new"})));

  // A fence for an older submission leaves this copy alone.
  auto fenced = client.call(protocol::RemoveWorkload{"wl-a", 0, "uid-old"});
  ASSERT_TRUE(std::holds_alternative<protocol::Removed>(fenced.body));
  auto still = client.call(protocol::GetStatus{"wl-a"});
  ASSERT_TRUE(statusOf(still));
  EXPECT_EQ(statusOf(still)->uid, "uid-new");

  auto removed = client.call(protocol::RemoveWorkload{"wl-a", 0, "uid-new"});
  ASSERT_TRUE(std::holds_alternative<protocol::Removed>(removed.body));
  EXPECT_EQ(std::get<protocol::Removed>(removed.body).id, "wl-a");
  EXPECT_EQ(errorOf(client.call(protocol::GetStatus{"wl-a"})), Code::kNotFound);
  EXPECT_EQ(errorOf(client.call(protocol::RemoveWorkload{"wl-a", 0, ""})), Code::kNotFound);

  // Without a uid any copy goes; the id may then be started with a new uid.
  ASSERT_TRUE(statusOf(client.call(protocol::StartWorkload{spec("wl-a"), "uid-3"})));
  ASSERT_TRUE(std::holds_alternative<protocol::Removed>(
      client.call(protocol::RemoveWorkload{"wl-a", 0, ""}).body));
  ASSERT_TRUE(statusOf(client.call(protocol::StartWorkload{spec("wl-a"), "uid-4"})));
  EXPECT_EQ(std::get<api::NodeInfo>(client.call(protocol::NodeInfo{}).body).workloads, 1);
}

TEST_F(SimFleetTest, LogsAreThreeLinesAndAnEnd) {
  Client client(address(1));
  ASSERT_TRUE(std::holds_alternative<api::NodeInfo>(client.hello("sim-0002").body));
  ASSERT_TRUE(statusOf(client.call(protocol::StartWorkload{spec("wl-a"), "uid-1"})));
  client.send(protocol::Logs{"wl-a", std::nullopt, false, false}, "logs");
  for (int i = 0; i < 3; ++i) {
    auto line = client.next();
    ASSERT_TRUE(line) << line.error().toString();
    EXPECT_EQ(line->req, "logs");
    const auto* log = std::get_if<protocol::LogLine>(&line->body);
    ASSERT_TRUE(log) << protocol::typeName(line->body);
    EXPECT_NE(log->line.find("wl-a"), std::string::npos) << log->line;
    EXPECT_TRUE(parseRfc3339(log->time)) << log->time;
  }
  auto end = client.next();
  ASSERT_TRUE(end);
  ASSERT_TRUE(std::holds_alternative<protocol::LogEnd>(end->body));
  EXPECT_EQ(std::get<protocol::LogEnd>(end->body).reason, "Completed");

  client.send(protocol::Logs{"wl-a", 1, false, false}, "tail");
  auto last = client.next();
  ASSERT_TRUE(last && std::holds_alternative<protocol::LogLine>(last->body));
  EXPECT_TRUE(std::holds_alternative<protocol::LogEnd>(client.next()->body));

  // One stream: the tail counts its lines only.
  client.send(protocol::Logs{"wl-a", 2, false, false, "stdout"}, "stdout");
  for (const char* want : {"simulated line 1 ", "simulated line 3 "}) {
    auto line = client.next();
    ASSERT_TRUE(line) << line.error().toString();
    const auto* log = std::get_if<protocol::LogLine>(&line->body);
    ASSERT_TRUE(log) << protocol::typeName(line->body);
    EXPECT_EQ(log->stream, "stdout");
    EXPECT_EQ(log->line.rfind(want, 0), 0u) << log->line;
  }
  EXPECT_TRUE(std::holds_alternative<protocol::LogEnd>(client.next()->body));
  client.send(protocol::Logs{"wl-a", std::nullopt, false, false, "stderr"}, "stderr");
  auto err = client.next();
  ASSERT_TRUE(err && std::holds_alternative<protocol::LogLine>(err->body));
  EXPECT_EQ(std::get<protocol::LogLine>(err->body).stream, "stderr");
  EXPECT_TRUE(std::holds_alternative<protocol::LogEnd>(client.next()->body));

  auto missing = client.call(protocol::Logs{"wl-none", std::nullopt, false, false});
  ASSERT_TRUE(std::holds_alternative<protocol::LogEnd>(missing.body));
  EXPECT_EQ(std::get<protocol::LogEnd>(missing.body).reason, "NotFound");
}

TEST_F(SimFleetTest, MalformedLinesGetErrorsNotACrash) {
  Client client(address(0));
  client.sendLine("{not json");
  auto reply = client.next();
  ASSERT_TRUE(reply);
  EXPECT_EQ(errorOf(*reply), Code::kInvalidArgument);
  client.sendLine(R"({"type":"Hello","node_id":"sim-0001","req":"h","extra":1})");
  reply = client.next();
  ASSERT_TRUE(reply);
  EXPECT_EQ(errorOf(*reply), Code::kInvalidArgument);
  EXPECT_TRUE(std::holds_alternative<api::NodeInfo>(client.hello("sim-0001").body));
}

TEST(SimFleetOptionsTest, NodeIdsAndValidation) {
  EXPECT_EQ(simNodeId("sim-", 1), "sim-0001");
  EXPECT_EQ(simNodeId("sim-", 1000), "sim-1000");
  EXPECT_EQ(simNodeId("n", 12345), "n12345");
  EXPECT_TRUE(validateFleetOptions(FleetOptions{}));
  auto bad = [](auto change) {
    FleetOptions o;
    change(o);
    auto s = validateFleetOptions(o);
    return s ? std::string("ok") : s.error().field;
  };
  EXPECT_EQ(bad([](FleetOptions& o) { o.nodes = 0; }), "nodes");
  EXPECT_EQ(bad([](FleetOptions& o) { o.threads = 0; }), "threads");
  EXPECT_EQ(bad([](FleetOptions& o) { o.node_prefix = "Sim_"; }), "node-prefix");
  EXPECT_EQ(bad([](FleetOptions& o) { o.node_prefix = std::string(60, 'a'); }), "node-prefix");
  EXPECT_EQ(bad([](FleetOptions& o) { o.memory_mb = 0; }), "memory-mb");
  EXPECT_EQ(bad([](FleetOptions& o) { o.cpu_millicores = -1; }), "cpu-millicores");
  EXPECT_EQ(bad([](FleetOptions& o) { o.runtime_classes = {}; }), "classes");
  EXPECT_EQ(bad([](FleetOptions& o) { o.runtime_classes = {"ok", "Not OK"}; }), "classes");
  EXPECT_EQ(bad([](FleetOptions& o) { o.run_delay = std::chrono::milliseconds(-1); }),
            "run-delay-ms");
  EXPECT_EQ(bad([](FleetOptions& o) { o.isolation_score = 101; }), "isolation-score");
  FleetOptions unbindable;
  unbindable.host = "not-an-address";
  EXPECT_EQ(SimFleet::start(unbindable).error().code, Code::kInvalidArgument);
}

TEST(SimRegistryTest, HoldsAHundredWorkloadsPerNodeCheaply) {
  SimRegistry registry({"sim-0001", {1 << 20, 1 << 20}, {"native"}, "test", {}});
  const TimePoint now{std::chrono::seconds{1'700'000'000}};
  for (int i = 0; i < 100; ++i) {
    auto started = registry.start(spec("wl-" + std::to_string(1000 + i)), "", now);
    ASSERT_TRUE(started) << started.error().toString();
    EXPECT_TRUE(protocol::isValidUid(started->status.uid)) << started->status.uid;
    // The generated uid makes the same start idempotent too.
    auto again = registry.start(spec("wl-" + std::to_string(1000 + i)), started->status.uid, now);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->changed);
  }
  EXPECT_EQ(registry.size(), 100u);
  EXPECT_EQ(registry.nodeInfo().allocatable.memory_mb, (1 << 20) - 100 * 256);
  EXPECT_FALSE(registry.markRunning("wl-1000", "another-uid", now));
  EXPECT_TRUE(registry.markRunning("wl-1000", registry.status("wl-1000")->uid, now));
  EXPECT_FALSE(registry.markRunning("wl-1000", registry.status("wl-1000")->uid, now));  // once
}

}  // namespace
}  // namespace zp::sim
