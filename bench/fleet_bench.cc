// fleet_bench: the control plane at scale (docs/architecture.md §8), against a
// simulated fleet (zoneplane-simfleet: N simulated agents speaking the real
// protocol on N loopback ports). Prints each figure next to its goal:
//   placements per second for W workloads through the HTTP API, C clients
//   GET /workloads/{id} latency p50/p99 at a fixed offered rate (open loop:
//     latency counts from the request's scheduled time, so a stall is not
//     hidden), twice: right after the submissions, while the server still
//     delivers the backlog to the nodes, and once every workload is Running
//     (steady state); the time that delivery took in between; then the same
//     load on GET /healthz as the baseline (the HTTP path and the machine
//     without the token check, the lookup and the record's encoding). Every
//     answer's latency is written to gets-*.csv in the work directory.
//   server RSS per workload
//   server restart -> ready with W workloads in the store
//
// Usage: fleet_bench --server BIN --simfleet BIN [--nodes 1000] [--workloads 100000]
//          [--clients 64] [--get-rate 5000] [--get-seconds 10] [--work-dir DIR]
//          [--heartbeat-ms MS]  (the server's node_heartbeat_interval_ms)
//          [--api-thread true|false]  (the server's api_thread)
//          [--delivery-lag-us US]  (the server's delivery_lag_target_us; 0: unpaced)
//          [--status-commit-ms MS]  (the server's status_commit_interval_ms; 0: at once)

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench_http.h"
#include "bench_machine.h"
#include "bench_process.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using zp::bench::BenchHttpClient;
using zp::bench::ChildProcess;
using zp::bench::createAdminToken;

namespace {

// Named, so no temporary is created in a co_await expression (g++ 12).
const std::string kNoBody;

struct Options {
  std::string server_bin;
  std::string simfleet_bin;
  int nodes = 1000;
  int workloads = 100'000;
  int clients = 64;
  int get_rate = 5000;
  int get_seconds = 10;
  int heartbeat_ms = 0;  // 0: the server's default
  bool api_thread = false;  // the server's api_thread setting
  int delivery_lag_us = -1;  // the server's delivery_lag_target_us; -1: its default
  int status_commit_ms = -1;  // the server's status_commit_interval_ms; -1: its default
  std::filesystem::path work_dir;
};

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--server") o.server_bin = v;
    else if (k == "--simfleet") o.simfleet_bin = v;
    else if (k == "--nodes") o.nodes = std::stoi(v);
    else if (k == "--workloads") o.workloads = std::stoi(v);
    else if (k == "--clients") o.clients = std::stoi(v);
    else if (k == "--get-rate") o.get_rate = std::stoi(v);
    else if (k == "--get-seconds") o.get_seconds = std::stoi(v);
    else if (k == "--work-dir") o.work_dir = v;
    else if (k == "--heartbeat-ms") o.heartbeat_ms = std::stoi(v);
    else if (k == "--api-thread" && (v == "true" || v == "false"))
      o.api_thread = v == "true";
    else if (k == "--delivery-lag-us")
      o.delivery_lag_us = std::stoi(v);
    else if (k == "--status-commit-ms")
      o.status_commit_ms = std::stoi(v);
    else return false;
  }
  return !o.server_bin.empty() && !o.simfleet_bin.empty();
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

void figure(const std::string& what, const std::string& value, const std::string& goal) {
  std::printf("  %-52s %16s   goal %s\n", what.c_str(), value.c_str(), goal.c_str());
  std::fflush(stdout);
}

std::string fmt(double v, const char* unit, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f %s", decimals, v, unit);
  return buf;
}

// Starts the server on the config; returns its port (0 on failure).
unsigned short startServer(ChildProcess& server, const Options& o,
                           const std::filesystem::path& config) {
  // The simulated agents speak plain TCP on loopback, and the figures here
  // are the control plane's own: TLS costs are measured by tls_bench.
  if (!server.start(
          {o.server_bin, "--config", config.string(), "--insecure-http", "--insecure-plaintext"},
          (o.work_dir / "server.log").string())) {
    return 0;
  }
  const std::string prefix = "zoneplane-server listening on ";
  while (auto line = server.readLine(std::chrono::minutes(5))) {
    if (line->rfind(prefix, 0) == 0) {
      auto colon = line->rfind(':');
      return static_cast<unsigned short>(std::stoi(line->substr(colon + 1)));
    }
  }
  return 0;
}

// A phase's start on stderr, as it begins (the figures go to stdout at the
// end), so a phase can be watched or profiled while it runs.
void progress(const std::string& phase) {
  std::fprintf(stderr, "fleet_bench: %s\n", phase.c_str());
}

// Runs `body` on a fresh io_context until it finishes.
template <typename F>
void runAsync(F body) {
  asio::io_context io;
  asio::co_spawn(io, body(io.get_executor()), asio::detached);
  io.run();
}

struct GetLatencies {
  std::vector<double> ms;  // of the 200 answers
  std::vector<std::pair<double, double>> samples;  // (scheduled ms from start, latency ms)
  int errors = 0;
};

// The answers slower than 1 ms, and in how many bursts they came (slow
// answers less than 5 ms apart, by scheduled time, are one burst): a few long
// pauses of the whole path, or a slow path.
std::string slowAnswers(const GetLatencies& run) {
  std::vector<std::pair<double, double>> samples = run.samples;
  std::sort(samples.begin(), samples.end());
  int slow = 0, bursts = 0;
  double last_slow = -1e9;
  for (const auto& [at, latency] : samples) {
    if (latency <= 1.0) continue;
    ++slow;
    if (at - last_slow >= 5.0) ++bursts;
    last_slow = at;
  }
  return std::to_string(slow) + " in " + std::to_string(bursts) + " bursts";
}

// GETs at o.get_rate per second for o.get_seconds, open loop over
// max(8, clients) connections: of /workloads/{id} for random workloads, or
// of `fixed_target` when it is given (the baseline: the same load on a route
// with no token check, lookup or record to encode).
GetLatencies measureGets(const asio::ip::tcp::endpoint& api, const std::string& token,
                         const Options& o, const std::string& fixed_target = "") {
  GetLatencies out;
  runAsync([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    const int total = o.get_rate * o.get_seconds;
    const auto interval = std::chrono::nanoseconds(1'000'000'000LL / o.get_rate);
    const auto start = Clock::now() + std::chrono::milliseconds(50);
    std::atomic<int> issued{0}, done{0};
    const int conns = std::max(8, o.clients);
    auto timer = std::make_shared<asio::steady_timer>(ex, Clock::time_point::max());
    out.ms.reserve(static_cast<std::size_t>(total));
    out.samples.reserve(static_cast<std::size_t>(total));
    for (int c = 0; c < conns; ++c) {
      asio::co_spawn(
          ex,
          [&, timer]() -> asio::awaitable<void> {
            auto exec = co_await asio::this_coro::executor;
            BenchHttpClient client(exec, api, nullptr, token);
            asio::steady_timer pace(exec);
            std::mt19937 rng(static_cast<unsigned>(issued.load()) * 7919u + 1);
            for (int k = issued++; k < total; k = issued++) {
              const auto scheduled = start + interval * k;
              pace.expires_at(scheduled);
              boost::system::error_code ec;
              co_await pace.async_wait(asio::redirect_error(asio::use_awaitable, ec));
              const int id =
                  static_cast<int>(rng() % static_cast<unsigned>(std::max(1, o.workloads)));
              std::string target =
                  fixed_target.empty() ? "/workloads/wl-" + std::to_string(id) : fixed_target;
              auto answer = co_await client.request(http::verb::get, target, kNoBody);
              if (answer.status == 200) {
                out.ms.push_back(ms(Clock::now() - scheduled));
                out.samples.emplace_back(ms(scheduled - start), out.ms.back());
              } else {
                ++out.errors;
              }
            }
            if (++done == conns) timer->cancel();
          },
          asio::detached);
    }
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  });
  return out;
}

// Polls until no workload is Pending (every one delivered: Running, or
// ended; the simulated fleet ends none) or `limit` passes; returns whether
// it got there.
bool awaitAllRunning(const asio::ip::tcp::endpoint& api, const std::string& token,
                     Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  bool settled = false;
  runAsync([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    BenchHttpClient client(ex, api, nullptr, token);
    const std::string target = "/workloads?state=Pending&limit=1";
    while (Clock::now() < deadline) {
      auto answer = co_await client.request(http::verb::get, target, kNoBody);
      auto j = json::parse(answer.body, nullptr, false);
      if (answer.status == 200 && !j.is_discarded() && j.contains("items") &&
          j["items"].empty()) {
        settled = true;
        co_return;
      }
      asio::steady_timer t(ex, std::chrono::milliseconds(200));
      co_await t.async_wait(asio::use_awaitable);
    }
  });
  return settled;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: fleet_bench --server BIN --simfleet BIN [--nodes N] [--workloads W] "
                 "[--clients C] [--get-rate R] [--get-seconds S] [--work-dir DIR] "
                 "[--heartbeat-ms MS] [--api-thread true|false] [--delivery-lag-us US] "
                 "[--status-commit-ms MS]\n");
    return 2;
  }
  if (o.work_dir.empty()) {
    o.work_dir = std::filesystem::temp_directory_path() / ("zp-fleet-bench-" + std::to_string(getpid()));
  }
  std::filesystem::create_directories(o.work_dir);

  // 1. The simulated fleet.
  ChildProcess fleet;
  if (!fleet.start({o.simfleet_bin, "--nodes", std::to_string(o.nodes), "--memory-mb", "1048576",
                    "--cpu-millicores", "1000000", "--classes", "native"},
                   (o.work_dir / "simfleet.log").string())) {
    std::fprintf(stderr, "cannot start %s\n", o.simfleet_bin.c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> nodes;
  while (auto line = fleet.readLine(std::chrono::minutes(2))) {
    auto j = json::parse(*line, nullptr, false);
    if (j.is_discarded()) continue;
    if (j.contains("ready")) break;
    nodes.emplace_back(j.value("node", ""), j.value("address", ""));
  }
  if (static_cast<int>(nodes.size()) != o.nodes) {
    std::fprintf(stderr, "simfleet announced %zu nodes, expected %d\n", nodes.size(), o.nodes);
    return 1;
  }

  // 2. The server, with every node in its config file and a durable database.
  const auto config = o.work_dir / "server.toml";
  {
    std::ofstream out(config);
    out << "listen = \"127.0.0.1:0\"\n"
        << "database = \"" << (o.work_dir / "db" / "zoneplane.db").string() << "\"\n"
        << "log_level = \"warn\"\n"
        << "default_trust = \"internal\"\n";
    if (o.api_thread) out << "api_thread = true\n";
    if (o.delivery_lag_us >= 0) out << "delivery_lag_target_us = " << o.delivery_lag_us << "\n";
    if (o.status_commit_ms >= 0) {
      out << "status_commit_interval_ms = " << o.status_commit_ms << "\n";
    }
    if (o.heartbeat_ms >= 100 && o.heartbeat_ms <= 60'000) {  // the server's range
      out << "node_heartbeat_interval_ms = " << o.heartbeat_ms << "\n"
          << "node_not_ready_after_ms = " << 4 * o.heartbeat_ms << "\n";
    }
    for (const auto& [id, address] : nodes) {
      out << "[[nodes]]\nid = \"" << id << "\"\naddress = \"" << address << "\"\n";
    }
  }
  // An admin token in the database before the server first starts (§9.3).
  const std::string token =
      createAdminToken(o.server_bin, (o.work_dir / "db" / "zoneplane.db").string(),
                       (o.work_dir / "tokens.log").string());
  if (token.empty()) {
    std::fprintf(stderr, "no API token; see %s\n", (o.work_dir / "tokens.log").c_str());
    return 1;
  }
  ChildProcess server;
  unsigned short port = startServer(server, o, config);
  if (port == 0) {
    std::fprintf(stderr, "server did not start; see %s\n", (o.work_dir / "server.log").c_str());
    return 1;
  }
  const asio::ip::tcp::endpoint api{asio::ip::make_address("127.0.0.1"), port};

  // Wait until every node is Ready.
  const auto ready_deadline = Clock::now() + std::chrono::minutes(3);
  int ready = 0;
  while (Clock::now() < ready_deadline) {
    runAsync([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      BenchHttpClient client(ex, api, nullptr, token);
      std::string target = "/nodes";
      auto answer = co_await client.request(http::verb::get, target, kNoBody);
      ready = 0;
      auto j = json::parse(answer.body, nullptr, false);
      if (!j.is_discarded() && j.contains("items")) {
        for (const auto& n : j["items"]) ready += n.value("state", "") == "Ready";
      }
    });
    if (ready == o.nodes) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::printf("fleet_bench: %d simulated nodes (%d Ready), %d workloads, %d clients\n", o.nodes,
              ready, o.workloads, o.clients);
  if (ready != o.nodes) return 1;
  const long rss_before = zp::bench::residentKiB(server.pid());

  // 3. Placements per second.
  progress("submitting");
  std::atomic<int> next{0}, placed{0}, failed{0};
  const auto t0 = Clock::now();
  runAsync([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    std::atomic<int> done{0};
    auto timer = std::make_shared<asio::steady_timer>(ex, Clock::time_point::max());
    for (int c = 0; c < o.clients; ++c) {
      asio::co_spawn(
          ex,
          [&, timer]() -> asio::awaitable<void> {
            BenchHttpClient client(co_await asio::this_coro::executor, api, nullptr, token);
            for (int i = next++; i < o.workloads; i = next++) {
              json spec{{"id", "wl-" + std::to_string(i)},
                        {"image", "registry.example.com/app:1.0"},
                        {"memory_mb", 16},
                        {"cpu_millicores", 10}};
              std::string target = "/workloads";
              std::string body = spec.dump();
              auto answer = co_await client.request(http::verb::post, target, body);
              if (answer.status == 201)
                ++placed;
              else if (failed++ < 5)
                std::fprintf(stderr, "submit: %u %s\n", answer.status, answer.body.c_str());
            }
            if (++done == o.clients) timer->cancel();
          },
          asio::detached);
    }
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  });
  const double submit_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const long rss_after = zp::bench::residentKiB(server.pid());

  // 4. GET latency at a fixed offered rate while the backlog is delivered,
  // then the delivery's end, then GET latency again in steady state.
  progress("GETs while delivering");
  const GetLatencies busy = measureGets(api, token, o);
  progress("waiting for every workload to run");
  const bool settled = awaitAllRunning(api, token, std::chrono::minutes(10));
  const double delivered_s = std::chrono::duration<double>(Clock::now() - t0).count() - submit_s;
  progress("GETs, all Running");
  const GetLatencies steady = measureGets(api, token, o);
  progress("GET /healthz at the same rate (baseline)");
  const GetLatencies baseline = measureGets(api, token, o, "/healthz");
  // Every answer's (scheduled time, latency), to see whether slow answers come alone or together.
  for (const auto& [name, run] :
       {std::pair{"gets-delivering.csv", &busy}, std::pair{"gets-running.csv", &steady},
        std::pair{"gets-healthz.csv", &baseline}}) {
    std::ofstream csv(o.work_dir / name);
    csv << "scheduled_ms,latency_ms\n";
    for (auto [at, latency] : run->samples) csv << at << ',' << latency << '\n';
  }
  progress("restarting the server");

  // 5. Restart -> ready.
  server.stop();
  const auto r0 = Clock::now();
  ChildProcess restarted;
  port = startServer(restarted, o, config);
  double restart_ms = 0;
  std::string restart_check = "not ready";
  if (port != 0) {
    const asio::ip::tcp::endpoint api2{asio::ip::make_address("127.0.0.1"), port};
    runAsync([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      BenchHttpClient client(ex, api2, nullptr, token);
      const std::string last = "/workloads/wl-" + std::to_string(o.workloads - 1);
      for (int i = 0; i < 6000; ++i) {
        auto answer = co_await client.request(http::verb::get, last, kNoBody);
        if (answer.status == 200) {
          restart_check = "last workload answered";
          break;
        }
        asio::steady_timer t(ex, std::chrono::milliseconds(10));
        co_await t.async_wait(asio::use_awaitable);
      }
    });
    restart_ms = ms(Clock::now() - r0);
  }
  restarted.stop();
  fleet.stop();

  std::printf("\nfleet_bench results (%d nodes, %d workloads):\n", o.nodes, o.workloads);
  figure("placements/s (" + std::to_string(placed.load()) + " placed, " +
             std::to_string(failed.load()) + " failed)",
         fmt(placed.load() / submit_s, "/s", 0), ">= 10,000/s");
  const std::string rate = std::to_string(o.get_rate) + " req/s";
  // Checked only after the first GET pass (a poll during it would add its
  // own list scans to the latencies measured): an upper bound.
  figure("every workload delivered, within (after the last 201)",
         settled ? fmt(delivered_s, "s", 1) : std::string("not within 10 min"), "(time)");
  figure("GET p50 at " + rate + ", delivering", fmt(percentile(busy.ms, 0.50), "ms", 3), "-");
  figure("GET p99 at " + rate + ", delivering (" + std::to_string(busy.errors) + " errors)",
         fmt(percentile(busy.ms, 0.99), "ms", 3), "<= 1 ms");
  figure("  answers over 1 ms of " + std::to_string(busy.samples.size()) + ", delivering",
         slowAnswers(busy), "-");
  figure("GET p50 at " + rate + ", all Running", fmt(percentile(steady.ms, 0.50), "ms", 3), "-");
  figure("GET p99 at " + rate + ", all Running (" + std::to_string(steady.errors) + " errors)",
         fmt(percentile(steady.ms, 0.99), "ms", 3), "<= 1 ms");
  figure("  answers over 1 ms of " + std::to_string(steady.samples.size()) + ", all Running",
         slowAnswers(steady), "-");
  figure("  baseline: GET /healthz p50 at " + rate, fmt(percentile(baseline.ms, 0.50), "ms", 3),
         "-");
  figure("  baseline: GET /healthz p99 at " + rate + " (" + std::to_string(baseline.errors) +
             " errors)",
         fmt(percentile(baseline.ms, 0.99), "ms", 3), "-");
  figure("  answers over 1 ms of " + std::to_string(baseline.samples.size()) + ", baseline",
         slowAnswers(baseline), "-");
  const double per_workload =
      o.workloads > 0 ? (static_cast<double>(rss_after - rss_before) * 1024.0) / o.workloads : 0;
  figure("server RSS " + std::to_string(rss_before / 1024) + " -> " +
             std::to_string(rss_after / 1024) + " MiB; per workload",
         fmt(per_workload / 1024.0, "KiB", 2), "<= 2 KiB");
  figure("server restart -> ready (" + restart_check + ")", fmt(restart_ms, "ms", 0),
         "(time)");
  std::printf("\nthe machine (it sets the latency floor):\n");
  for (const auto& note : zp::bench::machineNotes()) std::printf("  %s\n", note.c_str());
  std::printf("\nwork dir (logs, database): %s\n", o.work_dir.c_str());
  return 0;
}
