// exit_delay_bench: how long after a container exits the API shows it
// (docs/architecture.md §4 detection, §8.5 pushes), on the real containerd
// (scripts/stack) with `--background` long-running workloads on the node.
// The delay of one workload = the arrival of its Succeeded watch event minus
// the container's finished_at as the runtime reported it (same machine clock).
// The baseline, measured in the same run (RuntimeExitPoller): how long the
// runtime itself took to report the same exit to a client polling it every
// 5 ms; what zoneplane adds is the difference, sample by sample.
//
// Usage: exit_delay_bench --server BIN --agent BIN [--background 100] [--samples 40]
//                         [--status-interval-ms N]  (the agent's sweep; default its own)
//                         [--exit-relist-interval-ms N]  (the agent's exit relist; 0: off)
//                         [--exit-hints true|false]  (the agent's cgroup exit hints)
// Needs the stack's environment (eval "$(scripts/stack env)").

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/config.h"
#include "bench_http.h"
#include "bench_process.h"
#include "common/time.h"
#include "cri/client.h"
#include "runtime_exit_poller.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using zp::bench::BenchHttpClient;
using zp::bench::ChildProcess;
using zp::bench::createAdminToken;
using zp::bench::RuntimeExitPoller;

namespace {

// Named, so no temporary is created in a co_await expression (g++ 12).
const std::string kNoBody;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

unsigned short waitListening(ChildProcess& p, const std::string& prefix) {
  while (auto line = p.readLine(std::chrono::minutes(2))) {
    if (line->rfind(prefix, 0) == 0) {
      return static_cast<unsigned short>(std::stoi(line->substr(line->rfind(':') + 1)));
    }
  }
  return 0;
}

// Nearest rank: the smallest value with at least p of the samples at or below it.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

json workload(const std::string& id, const std::string& image, const std::string& script) {
  return json{{"id", id},
              {"image", image},
              {"memory_mb", 16},
              {"cpu_millicores", 10},
              {"command", {"sh", "-c", script}}};
}

// How the agent relists exits with these flags ("" = its default).
std::string relistNote(const std::string& sweep_flag, const std::string& relist_flag) {
  zp::agent::AgentConfig config;
  if (!sweep_flag.empty()) config.status_interval_ms = std::stoll(sweep_flag);
  if (!relist_flag.empty()) config.exit_relist_interval_ms = std::stoll(relist_flag);
  const auto relist = zp::agent::effectiveExitRelist(config);
  if (relist.count() == 0) return "exit relist off";
  return "exit relist every " + std::to_string(relist.count()) + " ms" +
         (relist_flag.empty() ? " (default)" : "");
}

}  // namespace

int main(int argc, char** argv) {
  std::string server_bin, agent_bin;
  int background = 100, samples = 40;
  std::string status_interval_ms, exit_relist_interval_ms, exit_hints;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--server") server_bin = v;
    else if (k == "--agent") agent_bin = v;
    else if (k == "--background") background = std::stoi(v);
    else if (k == "--samples") samples = std::stoi(v);
    else if (k == "--status-interval-ms") status_interval_ms = v;
    else if (k == "--exit-relist-interval-ms")
      exit_relist_interval_ms = v;
    else if (k == "--exit-hints" && (v == "true" || v == "false"))
      exit_hints = v;
    else if (k == "--exit-hints") {
      std::fprintf(stderr, "--exit-hints: true or false, got \"%s\"\n", v.c_str());
      return 2;
    }
  }
  const std::string endpoint = env("ZONEPLANE_CRI_ENDPOINT");
  const std::string image = env("ZONEPLANE_TEST_IMAGE");
  const std::string registry = env("ZONEPLANE_TEST_REGISTRY");
  if (server_bin.empty() || agent_bin.empty() || endpoint.empty() || image.empty()) {
    std::fprintf(stderr,
                 "usage: exit_delay_bench --server BIN --agent BIN [--background N] [--samples N]\n"
                 "       [--status-interval-ms N] [--exit-relist-interval-ms N]\n"
                 "       [--exit-hints true|false]\n"
                 "(needs eval \"$(scripts/stack env)\")\n");
    return 2;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("zp-exit-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "agent");

  ChildProcess agent;
  std::vector<std::string> agent_argv{
      agent_bin,       "--node-id",       "exit-bench", "--listen",          "127.0.0.1:0",
      "--data-dir",    (dir / "agent").string(),        "--runtime-class",   "native=@" + endpoint,
      "--memory-mb",   "65536",           "--cpu-millicores", "64000",        "--log-level",
      "warn",          "--insecure-plaintext"};
  if (!status_interval_ms.empty()) {
    agent_argv.push_back("--status-interval-ms");
    agent_argv.push_back(status_interval_ms);
  }
  if (!exit_relist_interval_ms.empty()) {
    agent_argv.push_back("--exit-relist-interval-ms");
    agent_argv.push_back(exit_relist_interval_ms);
  }
  if (!exit_hints.empty()) {
    agent_argv.push_back("--exit-hints");
    agent_argv.push_back(exit_hints);
  }
  agent.start(agent_argv, (dir / "agent.log").string());
  const unsigned short agent_port = waitListening(agent, "zoneplane-agent listening on ");
  if (agent_port == 0) {
    std::fprintf(stderr, "agent did not start; see %s\n", (dir / "agent.log").c_str());
    return 1;
  }
  {
    std::ofstream out(dir / "server.toml");
    out << "listen = \"127.0.0.1:0\"\ndatabase = \"" << (dir / "db" / "zoneplane.db").string()
        << "\"\nlog_level = \"warn\"\ndefault_trust = \"internal\"\n"
        << "allowed_registries = [\"" << registry << "\"]\n"
        << "[[nodes]]\nid = \"exit-bench\"\naddress = \"127.0.0.1:" << agent_port << "\"\n";
  }
  // An admin token in the database before the server starts (§9.3).
  const std::string token = createAdminToken(server_bin, (dir / "db" / "zoneplane.db").string(),
                                             (dir / "tokens.log").string());
  if (token.empty()) {
    std::fprintf(stderr, "no API token; see %s\n", (dir / "tokens.log").c_str());
    return 1;
  }
  ChildProcess server;
  // Loopback only, plain text: this measures the exit path, not TLS (tls_bench does).
  server.start({server_bin, "--config", (dir / "server.toml").string(), "--insecure-http",
                "--insecure-plaintext"},
               (dir / "server.log").string());
  const unsigned short port = waitListening(server, "zoneplane-server listening on ");
  if (port == 0) {
    std::fprintf(stderr, "server did not start; see %s\n", (dir / "server.log").c_str());
    return 1;
  }
  const asio::ip::tcp::endpoint api{asio::ip::make_address("127.0.0.1"), port};

  auto cri_client = zp::cri::Client::create(endpoint);
  if (!cri_client) {
    std::fprintf(stderr, "CRI endpoint %s: %s\n", endpoint.c_str(),
                 cri_client.error().toString().c_str());
    return 1;
  }
  RuntimeExitPoller runtime(std::move(*cri_client));
  std::map<std::string, double> delays;  // workload id -> ms
  // containerd's pid, as the stack recorded it (for the idle CPU figure).
  pid_t containerd = -1;
  {
    std::ifstream pid_file(env("ZONEPLANE_STACK_DIR") + "/containerd/containerd.pid");
    pid_file >> containerd;
  }
  constexpr auto kIdleWindow = std::chrono::seconds(5);
  double agent_cpu = -1, runtime_cpu = -1;  // of one core, at rest
  std::vector<std::string> ids;
  asio::io_context io;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        BenchHttpClient client(ex, api, nullptr, token);
        // The node first: until it has connected nothing offers a class.
        for (int round = 0; round < 600; ++round) {
          std::string target = "/nodes/exit-bench";
          auto answer = co_await client.request(http::verb::get, target, kNoBody);
          auto j = json::parse(answer.body, nullptr, false);
          if (!j.is_discarded() && j.value("state", "") == "Ready") break;
          asio::steady_timer t(ex, std::chrono::milliseconds(100));
          co_await t.async_wait(asio::use_awaitable);
        }
        // The background: long-running workloads, all Running before measuring.
        for (int i = 0; i < background; ++i) {
          const std::string id = "bg-" + std::to_string(i);
          ids.push_back(id);
          auto body = workload(id, image, "sleep 3600").dump();
          std::string target = "/workloads";
          co_await client.request(http::verb::post, target, body);
        }
        for (int round = 0; round < 600; ++round) {
          std::string target = "/workloads?state=Running";
          auto answer = co_await client.request(http::verb::get, target, kNoBody);
          auto j = json::parse(answer.body, nullptr, false);
          if (!j.is_discarded() && j.contains("items") &&
              static_cast<int>(j["items"].size()) >= background) {
            break;
          }
          asio::steady_timer t(ex, std::chrono::milliseconds(500));
          co_await t.async_wait(asio::use_awaitable);
        }
        // What the node costs at rest with the background Running: the
        // agent's sweeps and the runtime's answers to them.
        {
          const double agent_before = zp::bench::cpuSeconds(agent.pid());
          const double runtime_before = zp::bench::cpuSeconds(containerd);
          asio::steady_timer t(ex, kIdleWindow);
          co_await t.async_wait(asio::use_awaitable);
          const double window = std::chrono::duration<double>(kIdleWindow).count();
          const double agent_after = zp::bench::cpuSeconds(agent.pid());
          const double runtime_after = zp::bench::cpuSeconds(containerd);
          if (agent_before >= 0 && agent_after >= 0) {
            agent_cpu = (agent_after - agent_before) / window;
          }
          if (runtime_before >= 0 && runtime_after >= 0) {
            runtime_cpu = (runtime_after - runtime_before) / window;
          }
        }
        // The watch, read as its lines arrive.
        beast::tcp_stream watch(ex);
        co_await watch.async_connect(api, asio::use_awaitable);
        http::request<http::empty_body> req{http::verb::get, "/workloads?watch=true", 11};
        req.set(http::field::host, "bench");
        req.set(http::field::authorization, "Bearer " + token);
        co_await http::async_write(watch, req, asio::use_awaitable);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        co_await http::async_read_header(watch, buffer, parser, asio::use_awaitable);
        std::size_t consumed = 0;
        int seen = 0;
        std::set<std::string> polled;
        bool watching = true;
        // Submit the samples one by one, 300 ms apart, each exiting 2 s later.
        asio::co_spawn(
            ex,
            [&, ex]() -> asio::awaitable<void> {
              BenchHttpClient submitter(ex, api, nullptr, token);
              for (int i = 0; i < samples && watching; ++i) {
                const std::string id = "exit-" + std::to_string(i);
                ids.push_back(id);
                auto body = workload(id, image, "sleep 2").dump();
                std::string target = "/workloads";
                co_await submitter.request(http::verb::post, target, body);
                asio::steady_timer t(ex, std::chrono::milliseconds(300));
                co_await t.async_wait(asio::use_awaitable);
              }
            },
            asio::detached);
        while (seen < samples) {
          boost::system::error_code ec;
          watch.expires_after(std::chrono::seconds(60));
          co_await http::async_read_some(watch, buffer, parser,
                                         asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
          const auto now = std::chrono::system_clock::now();
          auto& text = parser.get().body();
          for (auto nl = text.find('\n', consumed); nl != std::string::npos;
               nl = text.find('\n', consumed)) {
            auto event = json::parse(text.substr(consumed, nl - consumed), nullptr, false);
            consumed = nl + 1;
            if (event.is_discarded() || !event.contains("workload")) continue;
            const auto& status = event["workload"]["status"];
            const std::string id = status.value("id", "");
            if (id.rfind("exit-", 0) != 0) continue;
            const std::string state = status.value("state", "");
            if (state == "Running" && !polled.contains(id)) {
              // It sleeps 2 s: the runtime is asked from shortly before.
              auto started = zp::parseRfc3339(status.value("started_at", ""));
              runtime.watch(id, status.value("uid", ""),
                            started.value_or(now) + std::chrono::milliseconds(1900));
              polled.insert(id);
            }
            if (state != "Succeeded" || delays.contains(id)) continue;
            auto finished = zp::parseRfc3339(status.value("finished_at", ""));
            if (!finished) continue;
            delays[id] = std::chrono::duration<double, std::milli>(now - *finished).count();
            ++seen;
          }
        }
        watching = false;
        boost::system::error_code ignored;
        watch.socket().close(ignored);
        for (const auto& id : ids) {
          std::string target = "/workloads/" + id + "?grace_seconds=0";
          co_await client.request(http::verb::delete_, target, kNoBody);
        }
      },
      asio::detached);
  io.run();
  server.stop();
  agent.stop();

  runtime.stop();
  const auto by_runtime = runtime.delays();
  std::vector<double> in_api, own, added;
  for (const auto& [id, ms] : delays) {
    in_api.push_back(ms);
    if (auto it = by_runtime.find(id); it != by_runtime.end()) {
      own.push_back(it->second);
      added.push_back(ms - it->second);
    }
  }
  std::printf("exit_delay_bench (real containerd, %d background workloads on the node, %zu samples):\n",
              background, in_api.size());
  std::printf("  exit -> Succeeded in the API        p50 %7.1f ms  p99 %7.1f ms   goal p99 <= 200 ms "
              "(before the fleet work: p50 315, p99 511)\n",
              percentile(in_api, 0.50), percentile(in_api, 0.99));
  const auto share = [](double cpu) {
    return cpu < 0 ? std::string("n/a") : std::to_string(cpu * 100).substr(0, 4) + " %";
  };
  std::printf(
      "  at rest with the background Running: agent %s, containerd %s of one core "
      "(sweep every %s ms, %s, cgroup exit hints %s)\n",
      share(agent_cpu).c_str(), share(runtime_cpu).c_str(),
      status_interval_ms.empty() ? "100 (default)" : status_interval_ms.c_str(),
      relistNote(status_interval_ms, exit_relist_interval_ms).c_str(),
      exit_hints.empty() ? "on (default)" : (exit_hints == "true" ? "on" : "off"));
  std::printf("  baseline, the runtime alone:\n");
  std::printf("  exit -> the CRI reports it exited   p50 %7.1f ms  p99 %7.1f ms   (%zu samples, "
              "ContainerStatus every 5 ms)\n",
              percentile(own, 0.50), percentile(own, 0.99), own.size());
  std::printf("  added by zoneplane, per sample      p50 %7.1f ms  p99 %7.1f ms   (detection sweep, "
              "push, store, watch)\n",
              percentile(added, 0.50), percentile(added, 0.99));
  std::filesystem::remove_all(dir);
  return in_api.size() == static_cast<std::size_t>(samples) ? 0 : 1;
}
