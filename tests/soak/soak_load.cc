#include "soak_load.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cri/client.h"
#include "proc_sample.h"

namespace zp::soak {

using nlohmann::json;
using testsupport::shellQuote;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Short workloads must end within this; anything longer is reported stuck.
constexpr auto kStuckAfter = 120s;

const char* kindName(int kind) {
  static const char* names[] = {"ok", "fail", "long"};
  return names[kind];
}

int lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// Runs `command` through the shell; its stdout and exit code (-1 unless it exited).
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, out};
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

double SoakTest::envNumber(const char* name, double fallback) {
  const std::string value = testsupport::env(name);
  if (value.empty()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  return end != value.c_str() && *end == '\0' && v > 0 ? v : fallback;
}

void SoakTest::startCluster() {
  for (const char* name : {"a1", "a2", "a3"}) {
    auto& agent = addAgent(name);
    ASSERT_TRUE(startAgent(agent));
  }
  // spread: every agent carries part of the load (binpack would fill one).
  ASSERT_TRUE(startServer(defaultServerToml() + "scheduler = \"spread\"\n"));
  for (auto& agent : agents_) {
    waitForNode(agent->id, [](const json& n) { return n["state"] == "Ready"; });
  }
}

void SoakTest::error(const std::string& what) {
  ++counts_.errors;
  std::lock_guard lock(mu_);
  std::cerr << "[soak] error: " << what << std::endl;
  if (error_messages_.size() < 40) error_messages_.push_back(what);
}

std::vector<std::string> SoakTest::errorMessages() {
  std::lock_guard lock(mu_);
  return error_messages_;
}

std::size_t SoakTest::liveCount() {
  std::lock_guard lock(mu_);
  return live_.size();
}

void SoakTest::submitOne() {
  const int n = next_++;
  const int slot = n % 10;
  const Kind kind = slot < 6 ? Kind::kOk : slot < 8 ? Kind::kFail : Kind::kLong;
  const std::string id = "soak-" + suffix_ + "-" + std::to_string(n);
  std::string script;
  switch (kind) {
    case Kind::kOk:
      script = "echo start; sleep 2; echo done";
      break;
    case Kind::kFail:
      script = "echo oops >&2; sleep 1; exit 1";
      break;
    case Kind::kLong:
      script = "while true; do echo tick; sleep 1; done";
      break;
  }
  auto r = tryHttp(cli::HttpMethod::kPost, "/workloads", spec(id, script, "native", 32));
  if (!r) return error("submit " + id + ": " + r.error().message);
  if (r->status != 201) {
    return error("submit " + id + ": HTTP " + std::to_string(r->status) + " " + r->body.dump());
  }
  ++counts_.submitted;
  std::lock_guard lock(mu_);
  live_[id] = Tracked{kind, Clock::now(), std::chrono::seconds(20 + (n * 7) % 21)};
}

bool SoakTest::removeWorkload(const std::string& id, bool running) {
  // sh ignores SIGTERM as PID 1: a grace of 1 s ends the long ones quickly.
  auto r = tryHttp(cli::HttpMethod::kDelete, "/workloads/" + id + "?grace_seconds=1");
  {
    std::lock_guard lock(mu_);
    live_.erase(id);
    deleted_ids_.insert(id);
  }
  if (!r) {
    error("delete " + id + ": " + r.error().message);
    return false;
  }
  if (r->status != 200) {
    error("delete " + id + ": HTTP " + std::to_string(r->status) + " " + r->body.dump());
    return false;
  }
  ++counts_.deleted;
  if (running) ++counts_.deleted_running;
  return true;
}

void SoakTest::reap() {
  auto listed = tryHttp(cli::HttpMethod::kGet, "/workloads");
  if (!listed || listed->status != 200) {
    return error("list: " + (listed ? std::to_string(listed->status) : listed.error().message));
  }
  std::map<std::string, json> status;
  for (const auto& item : listed->body["items"]) {
    status[item["spec"]["id"].get<std::string>()] = item["status"];
  }
  std::map<std::string, Tracked> live;
  {
    std::lock_guard lock(mu_);
    live = live_;
  }
  const auto now = Clock::now();
  for (const auto& [id, tracked] : live) {
    auto it = status.find(id);
    if (it == status.end()) {
      error("workload " + id + " vanished from the list");
      std::lock_guard lock(mu_);
      live_.erase(id);
      continue;
    }
    const json& s = it->second;
    const std::string state = s.value("state", "");
    const int exit_code = s.contains("exit_code") ? s["exit_code"].get<int>() : -1;
    const int kind = static_cast<int>(tracked.kind);
    if (state == "Succeeded" || state == "Failed") {
      const bool right = (tracked.kind == Kind::kOk && state == "Succeeded" && exit_code == 0) ||
                         (tracked.kind == Kind::kFail && state == "Failed" && exit_code == 1);
      if (!right) {
        error("workload " + id + " (" + kindName(kind) + ") ended " + state + " exit " +
              std::to_string(exit_code) + ": " + s.dump());
      } else if (state == "Succeeded") {
        ++counts_.succeeded;
      } else {
        ++counts_.failed;
      }
      removeWorkload(id, false);
    } else if (tracked.kind == Kind::kLong && state == "Running") {
      bool first_seen_running = false;
      {
        std::lock_guard lock(mu_);
        auto& t = live_[id];
        first_seen_running = !t.running;
        t.running = true;
        if (first_seen_running) t.submitted = now;  // the lifetime counts from Running
      }
      if (!first_seen_running && now - tracked.submitted > tracked.lifetime) {
        removeWorkload(id, true);
      }
    } else if (now - tracked.submitted > kStuckAfter) {
      error("workload " + id + " (" + kindName(kind) + ") stuck in " + s.dump());
      removeWorkload(id, false);
    }
  }
}

void SoakTest::drain(std::chrono::seconds timeout) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, tracked] : live_) ids.push_back(id);
  }
  for (const auto& id : ids) removeWorkload(id, true);
  const auto deadline = Clock::now() + timeout;
  json last;
  while (Clock::now() < deadline) {
    auto listed = tryHttp(cli::HttpMethod::kGet, "/workloads");
    auto stats = tryHttp(cli::HttpMethod::kGet, "/stats");
    if (listed && stats && listed->status == 200 && stats->status == 200) {
      last = stats->body;
      bool empty = listed->body["items"].empty();
      for (const auto& node : stats->body["nodes"]) {
        empty = empty && node["agent_workloads"] == 0 && node["workloads_placed"] == 0;
      }
      if (empty) break;
    }
    std::this_thread::sleep_for(500ms);
  }
  if (Clock::now() >= deadline) {
    return error("the cluster still holds workloads " + std::to_string(timeout.count()) +
                 " s after the drain: " + last.dump());
  }
  // What containerd still holds of the soak's nodes: nothing, once the
  // agents have removed what they were told to.
  auto client = cri::Client::create(endpoint_);
  if (!client) return error("CRI: " + client.error().message);
  std::size_t left = 0;
  for (auto& agent : agents_) {
    cri::v1::PodSandboxFilter filter;
    (*filter.mutable_label_selector())["zoneplane.io/node-id"] = agent->id;
    auto listed = (*client)->listPodSandbox(filter);
    if (!listed) return error("CRI ListPodSandbox: " + listed.error().message);
    left += listed->size();
  }
  sandboxes_left_ = static_cast<int>(left);
  if (left != 0)
    error(std::to_string(left) + " sandboxes of the soak's nodes left after the drain");
}

void SoakTest::logStreams(const std::atomic<bool>& stop) {
  while (!stop) {
    std::string id;
    {
      std::lock_guard lock(mu_);
      for (const auto& [candidate, tracked] : live_) {
        if (tracked.kind == Kind::kLong && tracked.running) id = candidate;
      }
    }
    if (id.empty()) {
      std::this_thread::sleep_for(1s);
      continue;
    }
    auto result = cli({"logs", "--follow", id}, "timeout 4");
    ++counts_.log_streams;
    counts_.log_lines += lines(result.out);
    bool deleted = false;
    {
      std::lock_guard lock(mu_);
      deleted = deleted_ids_.contains(id);
    }
    // 124: `timeout` ended a stream still open; 0: the workload ended.
    if (!deleted && result.exit_code != 124 && result.exit_code != 0) {
      error("logs --follow " + id + " exited " + std::to_string(result.exit_code) + ": " +
            result.err);
    } else if (!deleted && result.exit_code == 124 && lines(result.out) == 0) {
      error("logs --follow " + id + " of a running workload got no line in 4 s");
    }
    std::this_thread::sleep_for(1s);
  }
}

void SoakTest::watchStreams(const std::atomic<bool>& stop) {
  int n = 0;
  while (!stop) {
    const std::string query = n++ % 2 == 0 ? "watch=true" : "watch=true&state=Running";
    const std::string command = "curl -sS -N --max-time 3" + curlOptions() + " " +
                                shellQuote(server_url_ + "/workloads?" + query) + " 2>&1";
    auto [rc, out] = run(command);
    ++counts_.watch_streams;
    counts_.watch_lines += lines(out);
    // 28: curl's --max-time ended a stream still open, as intended.
    if (rc != 28) error("watch ?" + query + ": curl exited " + std::to_string(rc) + ": " + out);
    std::this_thread::sleep_for(1s);
  }
}

void SoakTest::add(const std::string& daemon, const std::string& metric, const MetricRule& rule,
                   double t, double value, bool after_drain) {
  const std::string key = daemon + "/" + metric;
  auto [it, inserted] = series_.try_emplace(key, Series{.daemon = daemon, .metric = metric});
  if (inserted) series_order_.push_back(key);
  Series& s = it->second;
  s.rule = rule;
  if (after_drain) {
    s.after_drain = s.after_drain ? std::min(*s.after_drain, value) : value;
  } else {
    s.t_seconds.push_back(t);
    s.values.push_back(value);
  }
}

void SoakTest::sampleAll(double t, bool after_drain) {
  const MetricRule rss{.abs_tolerance = 8, .rel_tolerance = rss_rel_tolerance_};
  const MetricRule fds{.abs_tolerance = 4, .rel_tolerance = 0.10, .return_to_load = true};
  const MetricRule threads{.abs_tolerance = 2, .rel_tolerance = 0.10, .return_to_load = true};
  auto queue = [](double abs, std::optional<double> limit) {
    return MetricRule{.abs_tolerance = abs, .rel_tolerance = 0.25, .drain_limit = limit};
  };
  std::vector<std::pair<std::string, pid_t>> daemons{{"server", server_.pid()}};
  for (std::size_t i = 0; i < agents_.size(); ++i) {
    daemons.emplace_back("agent-" + std::to_string(i + 1), agents_[i]->process.pid());
  }
  for (const auto& [name, pid] : daemons) {
    auto p = sampleProc(pid);
    if (!p) {
      error("sampling " + name + ": " + p.error().message);
      continue;
    }
    add(name, "rss_mib", rss, t, p->rss_mib, after_drain);
    add(name, "fds", fds, t, p->fds, after_drain);
    add(name, "threads", threads, t, p->threads, after_drain);
  }
  auto stats = tryHttp(cli::HttpMethod::kGet, "/stats");
  if (!stats || stats->status != 200) {
    return error("GET /stats: " + (stats ? std::to_string(stats->status) : stats.error().message));
  }
  const json& b = stats->body;
  // The sampler's own request is one of the connections.
  add("server", "http_connections", queue(3, 2), t, b["http_connections"].get<double>(),
      after_drain);
  add("server", "watchers", queue(2, 0), t, b["watchers"].get<double>(), after_drain);
  add("server", "commit_backlog", queue(5, 0), t, b["commit_backlog"].get<double>(), after_drain);
  for (const auto& node : b["nodes"]) {
    std::string name = node["id"].get<std::string>();
    for (std::size_t i = 0; i < agents_.size(); ++i) {
      if (agents_[i]->id == name) name = "agent-" + std::to_string(i + 1);
    }
    add(name, "link_calls", queue(4, 0), t,
        node["calls_in_flight"].get<double>() + node["calls_waiting"].get<double>(), after_drain);
    add(name, "log_streams", queue(2, 0), t, node["log_streams"].get<double>(), after_drain);
    add(name, "workloads_placed", queue(5, 0), t, node["workloads_placed"].get<double>(),
        after_drain);
    add(name, "agent_workloads", queue(5, 0), t, node["agent_workloads"].get<double>(),
        after_drain);
  }
}

void SoakTest::samplerLoop(const std::atomic<bool>& stop, Clock::time_point start,
                           std::chrono::seconds interval) {
  auto next = Clock::now();
  while (!stop) {
    if (Clock::now() >= next) {
      sampleAll(std::chrono::duration<double>(Clock::now() - start).count(), false);
      next += interval;
    }
    std::this_thread::sleep_for(200ms);
  }
}

std::vector<Series> SoakTest::series() const {
  std::vector<Series> out;
  for (const auto& key : series_order_) out.push_back(series_.at(key));
  return out;
}

}  // namespace zp::soak
