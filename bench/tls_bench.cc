// tls_bench: what transport security (docs/architecture.md §9) costs the
// control plane, measured with TLS and in plain text in the same run,
// in-process on loopback: the real Server (HTTP front end, workload service,
// SQLite store in a temporary directory) and simulated agents (bench/sim,
// the real protocol) on their own threads, a client on the main thread.
//
//   GET /workloads/{id}      one keep-alive connection (HTTPS vs HTTP), and
//                            a new connection per request (handshake included)
//   POST /workloads → Running  through the server: admission, commit, delivery
//                            over the agent link, the Running push (polled by GET)
//   StartWorkload → Running  one AgentLink round trip to a simulated agent and
//                            its Running push (mutual TLS 1.3 vs plain TCP)
//
// Usage: tls_bench [--gets N] [--fresh N] [--submits N] [--round-trips N]

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench_http.h"
#include "bench_pki.h"
#include "server/async_event.h"
#include "server/auth/token.h"
#include "server/nodes/agent_link.h"
#include "server/server.h"
#include "sim/sim_node.h"
#include "store/sqlite_store.h"
#include "tls/tls_context.h"

namespace {

using namespace zp;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kNodeId = "tls-bench";
// Request arguments are named strings, never temporaries, in co_await
// expressions (GCC 12 coroutines).
const std::string kNoBody;

struct Options {
  int gets = 3000;
  int fresh = 200;
  int submits = 200;
  int round_trips = 1000;
};

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    const int value = std::atoi(argv[++i]);
    if (value <= 0) return false;
    if (flag == "--gets") {
      o.gets = value;
    } else if (flag == "--fresh") {
      o.fresh = value;
    } else if (flag == "--submits") {
      o.submits = value;
    } else if (flag == "--round-trips") {
      o.round_trips = value;
    } else {
      return false;
    }
  }
  return true;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "tls_bench: %s\n", what.c_str());
  std::exit(1);
}

std::shared_ptr<asio::ssl::context> orDie(Result<std::shared_ptr<asio::ssl::context>> context) {
  if (!context) die(context.error().toString());
  return *context;
}

// Milliseconds per sample.
struct Samples {
  std::vector<double> ms;
  double percentile(double p) const {
    if (ms.empty()) return 0;
    auto sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
  }
};

double since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One io_context run by its own thread until stop().
class IoThread {
 public:
  IoThread() : work_(asio::make_work_guard(io_)) {}
  ~IoThread() { stop(); }
  void run() {
    thread_ = std::thread([this] { io_.run(); });
  }
  // Runs `f` on the io thread and waits for it.
  void onIo(const std::function<void()>& f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
  void stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// One setup, plain or TLS: two simulated agents of node kNodeId (one the
// server's, one for the direct AgentLink round trips, so the server never
// sees those workloads) and a server with the first as its node.
class Rig {
 public:
  Rig(bool secure, const bench::BenchPki& pki, const std::filesystem::path& dir) {
    std::shared_ptr<asio::ssl::context> agent_tls;
    if (secure) {
      agent_tls = orDie(tls::serverContext(pki.node, true, tls::MinVersion::kTls13));
      link_tls_ = orDie(tls::clientContext(pki.server, tls::MinVersion::kTls13));
      api_tls_ = orDie(tls::serverContext(pki.server, false, tls::MinVersion::kTls12));
      client_tls_ = orDie(tls::clientContext({"", "", pki.ca}, tls::MinVersion::kTls12));
    }
    sim::RegistryOptions node{kNodeId, {65'536, 64'000}, {"native"}, "bench", {}};
    served_ =
        std::make_unique<sim::SimNode>(nodes_.io(), node, std::chrono::milliseconds(0), agent_tls);
    direct_ =
        std::make_unique<sim::SimNode>(nodes_.io(), node, std::chrono::milliseconds(0), agent_tls);
    const auto served_at = served_->listen("127.0.0.1");
    const auto direct_at = direct_->listen("127.0.0.1");
    if (!served_at || !direct_at) die("cannot listen for the simulated agents");
    direct_address_ = "127.0.0.1:" + std::to_string(direct_at->port());
    served_->start();
    direct_->start();
    nodes_.run();

    std::filesystem::create_directories(dir);
    auto store = store::SqliteStore::open((dir / "zoneplane.db").string());
    if (!store) die(store.error().toString());
    store_ = std::move(*store);
    // An admin token in the store before the server starts (§9.3).
    auto issued = server::auth::issueToken({"bench", server::auth::Role::kAdmin, std::nullopt, ""},
                                           std::chrono::system_clock::now());
    if (!issued) die(issued.error().toString());
    if (auto s = store_->apply({store::PutToken{issued->record}}); !s) die(s.error().toString());
    token_ = issued->text;
    server::ServerOptions options;
    options.nodes = {{kNodeId, "127.0.0.1:" + std::to_string(served_at->port()), {"native"}}};
    options.trust.default_trust = api::TrustLevel::kInternal;
    options.http.tls = api_tls_;
    options.registry.link.tls = link_tls_;
    server_ = std::make_unique<server::Server>(server_io_.io(), std::move(options), *store_);
    auto bound = server_->start({asio::ip::address_v4::loopback(), 0});
    if (!bound) die(bound.error().toString());
    api_ = *bound;
    server_io_.run();
  }

  ~Rig() {
    server_io_.onIo([&] { server_->stop(); });
    server_io_.stop();
    server_.reset();
    store_.reset();
    nodes_.onIo([&] {
      served_->stop();
      direct_->stop();
    });
    nodes_.stop();
  }

  asio::ip::tcp::endpoint api() const { return api_; }
  std::shared_ptr<asio::ssl::context> clientTls() const { return client_tls_; }
  std::shared_ptr<asio::ssl::context> linkTls() const { return link_tls_; }
  const std::string& token() const { return token_; }
  const std::string& directAddress() const { return direct_address_; }

 private:
  std::shared_ptr<asio::ssl::context> link_tls_, api_tls_, client_tls_;
  IoThread nodes_;
  IoThread server_io_;
  std::unique_ptr<sim::SimNode> served_, direct_;
  std::string direct_address_;
  std::string token_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<server::Server> server_;
  asio::ip::tcp::endpoint api_;
};

std::string workloadJson(const std::string& id) {
  return json{{"id", id},
              {"image", "registry.example.com/bench:1"},
              {"runtime_class", "native"},
              {"memory_mb", 16},
              {"cpu_millicores", 10}}
      .dump();
}

// GETs `target` until `done(body)`; false on a failed request.
asio::awaitable<bool> pollUntil(bench::BenchHttpClient& client, std::string target,
                                std::function<bool(const json&)> done) {
  for (int i = 0; i < 1'000'000; ++i) {
    auto answer = co_await client.request(http::verb::get, target, kNoBody);
    if (answer.status == 0) co_return false;
    if (answer.status == 200 && done(json::parse(answer.body, nullptr, false))) co_return true;
  }
  co_return false;
}

struct Figures {
  Samples get, fresh, submit, round_trip;
};

asio::awaitable<void> measureApi(const Rig& rig, const Options& o, Figures& out) {
  auto ex = co_await asio::this_coro::executor;
  bench::BenchHttpClient client(ex, rig.api(), rig.clientTls(), rig.token());
  const std::string node_target = std::string("/nodes/") + kNodeId;
  const std::function<bool(const json&)> node_ready = [](const json& n) {
    return n.value("state", "") == "Ready";
  };
  auto waiting = pollUntil(client, node_target, node_ready);
  if (!co_await std::move(waiting)) die("the node never became Ready");
  const std::function<bool(const json&)> is_running = [](const json& w) {
    return w.contains("status") && w["status"].value("state", "") == "Running";
  };
  const std::string collection = "/workloads";
  const std::string first = "/workloads/sub-0";

  // Submit → Running, through the whole server.
  for (int i = 0; i < o.submits; ++i) {
    const std::string id = "sub-" + std::to_string(i);
    const std::string body = workloadJson(id);
    const std::string target = "/workloads/" + id;
    const auto start = Clock::now();
    auto created = co_await client.request(http::verb::post, collection, body);
    if (created.status != 201) die("POST /workloads answered " + std::to_string(created.status));
    auto polling = pollUntil(client, target, is_running);
    if (!co_await std::move(polling)) die("workload " + id + " never ran");
    out.submit.ms.push_back(since(start));
  }

  // GET latency on one kept-alive connection (after a warm-up).
  for (int i = 0; i < 100; ++i) co_await client.request(http::verb::get, first, kNoBody);
  for (int i = 0; i < o.gets; ++i) {
    const auto start = Clock::now();
    auto answer = co_await client.request(http::verb::get, first, kNoBody);
    if (answer.status != 200) die("GET answered " + std::to_string(answer.status));
    out.get.ms.push_back(since(start));
  }

  // A new connection (and for HTTPS a full handshake) per request.
  for (int i = 0; i < o.fresh; ++i) {
    const auto start = Clock::now();
    bench::BenchHttpClient once(ex, rig.api(), rig.clientTls(), rig.token());
    auto answer = co_await once.request(http::verb::get, first, kNoBody);
    if (answer.status != 200) die("GET answered " + std::to_string(answer.status));
    out.fresh.ms.push_back(since(start));
  }
}

asio::awaitable<void> measureLink(const Rig& rig, const Options& o, Figures& out) {
  auto ex = co_await asio::this_coro::executor;
  server::AsyncEvent changed(ex);
  bool resynced = false;
  std::set<std::string> running;
  server::AgentLinkOptions options;
  options.tls = rig.linkTls();
  server::AgentLinkEvents events;
  events.resynced = [&](std::vector<api::WorkloadStatus>) -> asio::awaitable<void> {
    resynced = true;
    changed.notify();
    co_return;
  };
  events.pushed = [&](const api::WorkloadStatus& status) {
    if (status.state == api::WorkloadState::kRunning) {
      running.insert(status.id);
      changed.notify();
    }
  };
  events.disconnected = [](std::string_view reason, const std::string& message) {
    die("agent link: " + std::string(reason) + ": " + message);
  };
  auto link = server::AgentLink::create(ex, kNodeId, rig.directAddress(), options, events);
  link->start();
  while (!resynced) co_await changed.wait();
  for (int i = 0; i < o.round_trips; ++i) {
    api::WorkloadSpec spec;
    spec.id = "rt-" + std::to_string(i);
    spec.image = "registry.example.com/bench:1";
    spec.runtime_class = "native";
    spec.memory_mb = 8;
    spec.cpu_millicores = 10;
    const std::string id = spec.id;
    const auto start = Clock::now();
    protocol::RequestBody request = protocol::StartWorkload{std::move(spec), "u-" + id};
    auto reply = co_await link->call(std::move(request), std::chrono::seconds(5));
    if (!reply) die("StartWorkload: " + reply.error().toString());
    while (!running.contains(id)) co_await changed.wait();
    out.round_trip.ms.push_back(since(start));
  }
  link->shutdown();
}

Figures measure(bool secure, const bench::BenchPki& pki, const std::filesystem::path& dir,
                const Options& o) {
  Figures figures;
  Rig rig(secure, pki, dir / (secure ? "tls" : "plain"));
  asio::io_context io;
  auto api = measureApi(rig, o, figures);
  asio::co_spawn(io, std::move(api), asio::detached);
  io.run();
  io.restart();
  auto link = measureLink(rig, o, figures);
  asio::co_spawn(io, std::move(link), asio::detached);
  io.run();
  return figures;
}

void row(const std::string& what, const Samples& plain, const Samples& secure, double p) {
  const double a = plain.percentile(p);
  const double b = secure.percentile(p);
  std::printf("  %-44s %10.3f ms %10.3f ms %+10.3f ms (%+.0f%%)\n", what.c_str(), a, b, b - a,
              a > 0 ? 100.0 * (b - a) / a : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: tls_bench [--gets N] [--fresh N] [--submits N] [--round-trips N]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const auto dir =
      std::filesystem::temp_directory_path() / ("zp-tls-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "pki");
  auto pki = bench::makeBenchPki(dir / "pki", kNodeId);
  if (!pki) die(pki.error().toString());

  const Figures plain = measure(false, *pki, dir, o);
  const Figures secure = measure(true, *pki, dir, o);

  std::printf(
      "\nTLS against plain text, in-process on loopback (one simulated agent, SQLite in a "
      "temporary directory)\n");
  std::printf("  %-44s %13s %13s %13s\n", "", "plain", "TLS", "TLS costs");
  row("GET /workloads/{id}, keep-alive, p50", plain.get, secure.get, 0.50);
  row("GET /workloads/{id}, keep-alive, p99", plain.get, secure.get, 0.99);
  row("GET /workloads/{id}, new connection, p50", plain.fresh, secure.fresh, 0.50);
  row("GET /workloads/{id}, new connection, p99", plain.fresh, secure.fresh, 0.99);
  row("POST /workloads -> Running (server), p50", plain.submit, secure.submit, 0.50);
  row("POST /workloads -> Running (server), p99", plain.submit, secure.submit, 0.99);
  row("StartWorkload -> Running (AgentLink), p50", plain.round_trip, secure.round_trip, 0.50);
  row("StartWorkload -> Running (AgentLink), p99", plain.round_trip, secure.round_trip, 0.99);
  std::printf("  (%d GETs, %d new connections, %d submissions, %d round trips each)\n", o.gets,
              o.fresh, o.submits, o.round_trips);
  std::filesystem::remove_all(dir);
  return 0;
}
