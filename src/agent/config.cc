#include "agent/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/node.h"
#include "api/validate.h"
#include "common/address.h"
#include "cri/endpoint.h"

namespace zp::agent {
namespace {

Status unknownKey(const std::string& origin, const std::string& key) {
  return fail(Code::kInvalidArgument, origin + ": unknown key \"" + key + "\"", key);
}

Status wrongType(const std::string& origin, const std::string& key, std::string_view want) {
  return fail(Code::kInvalidArgument, origin + ": \"" + key + "\" must be " + std::string(want),
              key);
}

// Sets listen_host (an IP literal; "localhost" becomes 127.0.0.1) and listen_port.
Status parseListen(AgentConfig& config, std::string_view value, const std::string& where) {
  auto address = parseHostPort(value, "listen");
  if (!address) return fail(Code::kInvalidArgument, where + address.error().message, "listen");
  auto endpoint = listenEndpoint(*address, "listen");
  if (!endpoint) return fail(Code::kInvalidArgument, where + endpoint.error().message, "listen");
  config.listen_host = endpoint->address().to_string();
  config.listen_port = endpoint->port();
  return ok();
}

Status parseRuntimeClasses(AgentConfig& config, const toml::table& table, const std::string& origin) {
  for (const auto& [name_key, node] : table) {
    const std::string name(name_key.str());
    const auto* cls = node.as_table();
    if (cls == nullptr) return wrongType(origin, "runtime_classes." + name, "a table");
    RuntimeClassConfig rc;
    for (const auto& [key_key, value] : *cls) {
      const std::string key(key_key.str());
      const std::string path = "runtime_classes." + name + "." + key;
      if (key != "endpoint" && key != "handler" && key != "pod_cgroup" && key != "isolation")
        return unknownKey(origin, path);
      const auto* text = value.as_string();
      if (text == nullptr) return wrongType(origin, path, "a string");
      if (key == "isolation") {
        rc.isolation = api::parseIsolationClaim(text->get());
        if (!rc.isolation) {
          return fail(Code::kInvalidArgument,
                      origin + ": \"" + path +
                          "\" must be \"shared-kernel\", \"application-kernel\" or "
                          "\"hypervisor\", got \"" +
                          text->get() + "\"",
                      path);
        }
        continue;
      }
      if (key == "pod_cgroup") {
        if (text->get() == "cgroupfs") {
          rc.pod_cgroup = PodCgroupMode::kCgroupfs;
        } else if (text->get() == "none") {
          rc.pod_cgroup = PodCgroupMode::kNone;
        } else {
          return fail(Code::kInvalidArgument,
                      origin + ": \"" + path + "\" must be \"cgroupfs\" or \"none\", got \"" +
                          text->get() + "\"",
                      path);
        }
        continue;
      }
      (key == "endpoint" ? rc.endpoint : rc.handler) = text->get();
    }
    config.runtime_classes[name] = rc;
  }
  return ok();
}

Status parseSecurity(AgentConfig& config, const toml::table& table, const std::string& origin) {
  for (const auto& [key_key, value] : table) {
    const std::string key(key_key.str());
    const std::string path = "security." + key;
    if (key != "uid_range_start" && key != "uid_range_size") return unknownKey(origin, path);
    const auto* number = value.as_integer();
    if (number == nullptr) return wrongType(origin, path, "an integer");
    (key == "uid_range_start" ? config.uid_range.start : config.uid_range.size) = number->get();
  }
  return ok();  // the range itself is checked by validateConfig
}

Status parseTls(AgentConfig& config, const toml::table& table, const std::string& origin) {
  for (const auto& [key_key, value] : table) {
    const std::string key(key_key.str());
    const std::string path = "tls." + key;
    if (key != "cert" && key != "key" && key != "ca") return unknownKey(origin, path);
    const auto* text = value.as_string();
    if (text == nullptr || text->get().empty()) return wrongType(origin, path, "a non-empty path");
    (key == "cert" ? config.tls.cert : key == "key" ? config.tls.key : config.tls.ca) = text->get();
  }
  return ok();
}

Status parseProbe(AgentConfig& config, const toml::table& table, const std::string& origin) {
  for (const auto& [key_key, value] : table) {
    const std::string key(key_key.str());
    const std::string path = "probe." + key;
    if (key == "image") {
      const auto* text = value.as_string();
      if (text == nullptr) return wrongType(origin, path, "a string");
      config.probe.image = text->get();
    } else if (key == "interval_seconds" || key == "timeout_seconds") {
      const auto* number = value.as_integer();
      if (number == nullptr) return wrongType(origin, path, "an integer");
      (key == "interval_seconds" ? config.probe.interval_seconds : config.probe.timeout_seconds) =
          number->get();
    } else if (key == "connect") {
      const auto* list = value.as_array();
      if (list == nullptr) return wrongType(origin, path, "an array of \"HOST:PORT\" strings");
      config.probe.connect.clear();
      for (const auto& item : *list) {
        const auto* text = item.as_string();
        if (text == nullptr) return wrongType(origin, path, "an array of \"HOST:PORT\" strings");
        config.probe.connect.push_back(text->get());
      }
    } else {
      return unknownKey(origin, path);
    }
  }
  return ok();  // values: validateConfig
}

// The top-level integer keys, or null when `key` is not one.
std::int64_t* integerKey(AgentConfig& config, std::string_view key) {
  if (key == "pull_timeout_seconds") return &config.pull_timeout_seconds;
  if (key == "max_pulls_per_registry") return &config.max_pulls_per_registry;
  if (key == "status_interval_ms") return &config.status_interval_ms;
  if (key == "exit_relist_interval_ms") return &config.exit_relist_interval_ms;
  if (key == "restart_backoff_initial_ms") return &config.restart_backoff_initial_ms;
  if (key == "restart_backoff_max_seconds") return &config.restart_backoff_max_seconds;
  if (key == "handshake_timeout_ms") return &config.handshake_timeout_ms;
  if (key == "idle_timeout_seconds") return &config.idle_timeout_seconds;
  if (key == "max_buffered_mb") return &config.max_buffered_mb;
  return nullptr;
}

Status checkBounds(std::string_view key, std::int64_t value, std::int64_t min, std::int64_t max) {
  if (value >= min && value <= max) return ok();
  return fail(Code::kInvalidArgument,
              std::string(key) + " must be between " + std::to_string(min) + " and " +
                  std::to_string(max) + ", got " + std::to_string(value),
              std::string(key));
}

// A probe target: "HOST:PORT" with an IP literal host and a port above 0.
Status validateProbeTarget(const std::string& target) {
  const std::string field = "probe.connect";
  auto address = parseHostPort(target, field);
  if (!address) return fail(address.error());
  boost::system::error_code ec;
  boost::asio::ip::make_address(address->host, ec);
  if (ec || address->port == 0) {
    return fail(Code::kInvalidArgument,
                "probe.connect: \"" + target +
                    "\" must be HOST:PORT with a numeric host and a port above 0",
                field);
  }
  return ok();
}

Status validateProbe(const ProbeConfig& probe) {
  if (!probe.image.empty()) {
    if (auto s = api::validateImageReference(probe.image); !s) {
      return fail(Code::kInvalidArgument, "probe.image: " + s.error().message, "probe.image");
    }
  }
  if (auto s = checkBounds("probe.interval_seconds", probe.interval_seconds,
                           kMinProbeIntervalSeconds, kMaxProbeIntervalSeconds);
      !s) {
    return s;
  }
  if (auto s = checkBounds("probe.timeout_seconds", probe.timeout_seconds, kMinProbeTimeoutSeconds,
                           kMaxProbeTimeoutSeconds);
      !s) {
    return s;
  }
  if (probe.connect.size() > kMaxProbeConnectTargets) {
    return fail(Code::kInvalidArgument,
                "probe.connect has " + std::to_string(probe.connect.size()) + " targets; at most " +
                    std::to_string(kMaxProbeConnectTargets),
                "probe.connect");
  }
  for (const auto& target : probe.connect) {
    if (auto s = validateProbeTarget(target); !s) return s;
  }
  return ok();
}

}  // namespace

std::string_view podCgroupModeName(PodCgroupMode mode) {
  return mode == PodCgroupMode::kNone ? "none" : "cgroupfs";
}

Result<AgentConfig> parseConfig(const std::string& toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return fail(Code::kInvalidArgument, msg.str());
  }
  AgentConfig config;
  for (const auto& [key_key, node] : root) {
    const std::string key(key_key.str());
    if (key == "node_id" || key == "data_dir" || key == "log_level" || key == "listen" ||
        key == "metrics_listen") {
      const auto* text = node.as_string();
      if (text == nullptr) return fail(wrongType(origin, key, "a string").error());
      if (key == "node_id") config.node_id = text->get();
      // metrics_listen is checked by validateConfig.
      if (key == "metrics_listen") config.metrics_listen = text->get();
      if (key == "data_dir") config.data_dir = text->get();
      if (key == "log_level") config.log_level = text->get();
      if (key == "listen") {
        if (auto s = parseListen(config, text->get(), origin + ": "); !s) return fail(s.error());
      }
    } else if (auto* field = integerKey(config, key)) {
      const auto* number = node.as_integer();
      if (number == nullptr) return fail(wrongType(origin, key, "an integer").error());
      *field = number->get();  // bounds: validateConfig
    } else if (key == "insecure_plaintext" || key == "exit_hints") {
      const auto* flag = node.as_boolean();
      if (flag == nullptr) return fail(wrongType(origin, key, "true or false").error());
      if (key == "exit_hints") config.exit_hints = flag->get();
      if (key == "insecure_plaintext") config.insecure_plaintext = flag->get();
    } else if (key == "tls") {
      const auto* table = node.as_table();
      if (table == nullptr) return fail(wrongType(origin, key, "a table").error());
      if (auto s = parseTls(config, *table, origin); !s) return fail(s.error());
    } else if (key == "capacity") {
      const auto* table = node.as_table();
      if (table == nullptr) return fail(wrongType(origin, key, "a table").error());
      for (const auto& [sub_key, value] : *table) {
        const std::string sub(sub_key.str());
        const auto* number = value.as_integer();
        if (sub != "memory_mb" && sub != "cpu_millicores") {
          return fail(unknownKey(origin, "capacity." + sub).error());
        }
        if (number == nullptr || number->get() <= 0 || number->get() > api::kMaxNodeResource) {
          return fail(wrongType(origin, "capacity." + sub,
                                "a positive integer up to " + std::to_string(api::kMaxNodeResource))
                          .error());
        }
        (sub == "memory_mb" ? config.capacity_memory_mb : config.capacity_cpu_millicores) =
            number->get();
      }
    } else if (key == "security") {
      const auto* table = node.as_table();
      if (table == nullptr) return fail(wrongType(origin, key, "a table").error());
      if (auto s = parseSecurity(config, *table, origin); !s) return fail(s.error());
    } else if (key == "probe") {
      const auto* table = node.as_table();
      if (table == nullptr) return fail(wrongType(origin, key, "a table").error());
      if (auto s = parseProbe(config, *table, origin); !s) return fail(s.error());
    } else if (key == "runtime_classes") {
      const auto* table = node.as_table();
      if (table == nullptr) return fail(wrongType(origin, key, "a table").error());
      if (auto s = parseRuntimeClasses(config, *table, origin); !s) return fail(s.error());
    } else {
      return fail(unknownKey(origin, key).error());
    }
  }
  return config;
}

Result<AgentConfig> loadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Code::kInvalidArgument, "cannot read config file \"" + path + "\"", "config");
  std::stringstream text;
  text << in.rdbuf();
  return parseConfig(text.str(), path);
}

Status applyRuntimeClassFlag(AgentConfig& config, const std::string& flag) {
  const auto eq = flag.find('=');
  const auto at = flag.find('@', eq == std::string::npos ? 0 : eq);
  if (eq == std::string::npos || at == std::string::npos) {
    return fail(Code::kInvalidArgument,
                "--runtime-class must be NAME=HANDLER@ENDPOINT, got \"" + flag + "\"",
                "runtime-class");
  }
  config.runtime_classes[flag.substr(0, eq)] =
      RuntimeClassConfig{flag.substr(at + 1), flag.substr(eq + 1, at - eq - 1)};
  return ok();
}

Status applyListenFlag(AgentConfig& config, const std::string& flag) {
  return parseListen(config, flag, "--");
}

std::chrono::milliseconds effectiveExitRelist(const AgentConfig& config) {
  const bool relist = config.exit_relist_interval_ms > 0 &&
                      config.exit_relist_interval_ms < config.status_interval_ms;
  return std::chrono::milliseconds(relist ? config.exit_relist_interval_ms : 0);
}

Status validateConfig(const AgentConfig& config) {
  if (!api::isDns1123Label(config.node_id)) {
    return fail(Code::kInvalidArgument,
                "node_id \"" + config.node_id + "\" must be a DNS-1123 label (set node_id or --node-id)",
                "node_id");
  }
  if (config.runtime_classes.empty()) {
    return fail(Code::kInvalidArgument,
                "no runtime classes: add a [runtime_classes.NAME] table or --runtime-class",
                "runtime_classes");
  }
  if (config.runtime_classes.size() > api::kMaxIsolationClasses) {
    return fail(Code::kInvalidArgument,
                "at most " + std::to_string(api::kMaxIsolationClasses) + " runtime classes, not " +
                    std::to_string(config.runtime_classes.size()),
                "runtime_classes");
  }
  for (const auto& [name, rc] : config.runtime_classes) {
    if (!api::isDns1123Label(name)) {
      return fail(Code::kInvalidArgument,
                  "runtime class name \"" + name + "\" must be a DNS-1123 label", "runtime_classes");
    }
    if (auto path = cri::socketPathFromEndpoint(rc.endpoint); !path) {
      return fail(Code::kInvalidArgument,
                  "runtime class \"" + name + "\": " + path.error().message,
                  "runtime_classes." + name + ".endpoint");
    }
    for (char c : rc.handler) {
      const bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.';
      if (!okc) {
        return fail(Code::kInvalidArgument,
                    "runtime class \"" + name + "\": handler \"" + rc.handler + "\" has invalid characters",
                    "runtime_classes." + name + ".handler");
      }
    }
  }
  if (auto s = validateUidRange(config.uid_range, "security."); !s) return s;
  if (auto s = checkBounds("pull_timeout_seconds", config.pull_timeout_seconds,
                           kMinPullTimeoutSeconds, kMaxPullTimeoutSeconds);
      !s) {
    return s;
  }
  if (auto s = checkBounds("max_pulls_per_registry", config.max_pulls_per_registry, 1,
                           kMaxPullsPerRegistry);
      !s) {
    return s;
  }
  if (auto s = checkBounds("status_interval_ms", config.status_interval_ms, kMinStatusIntervalMs,
                           kMaxStatusIntervalMs);
      !s) {
    return s;
  }
  if (const auto relist = config.exit_relist_interval_ms;
      relist != 0 && (relist < kMinExitRelistIntervalMs || relist > kMaxStatusIntervalMs)) {
    return fail(Code::kInvalidArgument,
                "exit_relist_interval_ms must be 0 (off) or between " +
                    std::to_string(kMinExitRelistIntervalMs) + " and " +
                    std::to_string(kMaxStatusIntervalMs) + ", got " + std::to_string(relist),
                "exit_relist_interval_ms");
  }
  if (auto s = checkBounds("restart_backoff_initial_ms", config.restart_backoff_initial_ms,
                           kMinRestartBackoffInitialMs, kMaxRestartBackoffInitialMs);
      !s) {
    return s;
  }
  if (auto s = checkBounds("restart_backoff_max_seconds", config.restart_backoff_max_seconds, 1,
                           kMaxRestartBackoffMaxSeconds);
      !s) {
    return s;
  }
  if (config.restart_backoff_max_seconds * 1000 < config.restart_backoff_initial_ms) {
    return fail(Code::kInvalidArgument,
                "restart_backoff_max_seconds (" +
                    std::to_string(config.restart_backoff_max_seconds) +
                    " s) must not be below restart_backoff_initial_ms (" +
                    std::to_string(config.restart_backoff_initial_ms) + " ms)",
                "restart_backoff_max_seconds");
  }
  if (auto s = checkBounds("handshake_timeout_ms", config.handshake_timeout_ms,
                           kMinHandshakeTimeoutMs, kMaxHandshakeTimeoutMs);
      !s) {
    return s;
  }
  if (auto s = checkBounds("idle_timeout_seconds", config.idle_timeout_seconds, 1,
                           kMaxIdleTimeoutSeconds);
      !s) {
    return s;
  }
  if (auto s = checkBounds("max_buffered_mb", config.max_buffered_mb, kMinMaxBufferedMb,
                           kMaxMaxBufferedMb);
      !s) {
    return s;
  }
  if (auto s = validateProbe(config.probe); !s) return s;
  if (auto metrics = metricsEndpoint(config); !metrics) return fail(metrics.error());
  if (config.data_dir.empty() || config.data_dir.front() != '/') {
    return fail(Code::kInvalidArgument, "data_dir must be an absolute path", "data_dir");
  }
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(config.listen_host, ec);
  if (ec) {
    return fail(Code::kInvalidArgument, "invalid listen address \"" + config.listen_host + "\"",
                "listen");
  }
  if (config.insecure_plaintext && !address.is_loopback()) {
    return fail(Code::kInvalidArgument,
                "refusing plaintext on the non-loopback address " + config.listen_host +
                    ": --insecure-plaintext (insecure_plaintext) needs a loopback listen address; "
                    "elsewhere the agent speaks mutual TLS only",
                "insecure_plaintext");
  }
  return ok();
}

tls::TlsFiles tlsFiles(const AgentConfig& config) {
  const std::filesystem::path dir = std::filesystem::path(config.data_dir) / "tls";
  return {config.tls.cert.empty() ? (dir / "node.crt").string() : config.tls.cert,
          config.tls.key.empty() ? (dir / "node.key").string() : config.tls.key,
          config.tls.ca.empty() ? (dir / "ca.crt").string() : config.tls.ca};
}

Result<std::optional<boost::asio::ip::tcp::endpoint>> metricsEndpoint(const AgentConfig& config) {
  if (config.metrics_listen.empty()) return std::optional<boost::asio::ip::tcp::endpoint>();
  const std::string where = "metrics_listen \"" + config.metrics_listen.substr(0, 100) + "\": ";
  auto address = parseHostPort(config.metrics_listen, "metrics_listen");
  if (!address) {
    return fail(Code::kInvalidArgument, where + address.error().message, "metrics_listen");
  }
  auto endpoint = listenEndpoint(*address, "metrics_listen");
  if (!endpoint) {
    return fail(Code::kInvalidArgument, where + endpoint.error().message, "metrics_listen");
  }
  return std::optional<boost::asio::ip::tcp::endpoint>(*endpoint);
}

api::Resources effectiveCapacity(const AgentConfig& config) {
  api::Resources r;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  r.memory_mb = config.capacity_memory_mb.value_or(
      pages > 0 && page_size > 0 ? static_cast<std::int64_t>(pages) * page_size / (1024 * 1024) : 0);
  r.cpu_millicores = config.capacity_cpu_millicores.value_or(
      static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency())) * 1000);
  // What the server accepts (api::kMaxNodeResource); no machine comes near it.
  r.memory_mb = std::min(r.memory_mb, api::kMaxNodeResource);
  r.cpu_millicores = std::min(r.cpu_millicores, api::kMaxNodeResource);
  return r;
}

}  // namespace zp::agent
