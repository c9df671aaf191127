#include "server/config.h"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "api/validate.h"
#include "common/address.h"
#include "server/image_policy.h"

namespace zp::server {
namespace {

std::unexpected<Error> badKey(std::string_view source, const std::string& key,
                              const std::string& why) {
  return fail(Code::kInvalidArgument, std::string(source) + ": \"" + key + "\" " + why, key);
}

Result<std::string> stringValue(const toml::node& node, std::string_view source,
                                const std::string& key) {
  if (const auto* s = node.as_string()) return s->get();
  return badKey(source, key, "must be a string");
}

Result<std::int64_t> intValue(const toml::node& node, std::string_view source,
                              const std::string& key) {
  if (const auto* i = node.as_integer()) return i->get();
  return badKey(source, key, "must be an integer");
}

Result<bool> boolValue(const toml::node& node, std::string_view source, const std::string& key) {
  if (const auto* b = node.as_boolean()) return b->get();
  return badKey(source, key, "must be true or false");
}

// The [tls] table onto `tls`.
Status parseTls(const toml::node& node, std::string_view source, ServerTlsConfig& tls) {
  const auto* table = node.as_table();
  if (table == nullptr) return badKey(source, "tls", "must be a table ([tls])");
  for (auto&& [k, value] : *table) {
    const std::string key = "tls." + std::string(k.str());
    std::string* target = k.str() == "cert"  ? &tls.cert
                          : k.str() == "key" ? &tls.key
                          : k.str() == "ca"  ? &tls.ca
                                             : nullptr;
    if (target == nullptr) return badKey(source, key, "is not a known key (cert, key, ca)");
    auto path = stringValue(value, source, key);
    if (!path) return fail(path.error());
    if (path->empty()) return badKey(source, key, "must not be empty");
    *target = std::move(*path);
  }
  return ok();
}

Result<std::vector<std::string>> stringList(const toml::node& node, std::string_view source,
                                            const std::string& key) {
  const auto* array = node.as_array();
  if (array == nullptr) return badKey(source, key, "must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : *array) {
    const auto* s = item.as_string();
    if (s == nullptr) return badKey(source, key, "must be a list of strings");
    out.push_back(s->get());
  }
  return out;
}

Result<NodeConfig> parseNode(const toml::table& table, std::string_view source,
                             const std::string& where) {
  NodeConfig node;
  for (auto&& [k, value] : table) {
    const std::string key = where + "." + std::string(k.str());
    if (k.str() == "id" || k.str() == "address") {
      auto s = stringValue(value, source, key);
      if (!s) return fail(s.error());
      (k.str() == "id" ? node.id : node.address) = std::move(*s);
    } else if (k.str() == "runtime_classes") {
      auto list = stringList(value, source, key);
      if (!list) return fail(list.error());
      node.runtime_classes = std::move(*list);
    } else {
      return badKey(source, key, "is not a known key (id, address, runtime_classes)");
    }
  }
  return node;
}

// One [trust.<level>] table onto the level's rule (absent keys keep it).
Status parseTrustRule(const toml::table& table, std::string_view source, const std::string& where,
                      TrustRule& rule) {
  for (auto&& [k, value] : table) {
    const std::string key = where + "." + std::string(k.str());
    if (k.str() == "runtime_classes") {
      auto list = stringList(value, source, key);
      if (!list) return fail(list.error());
      rule.runtime_classes = std::move(*list);
    } else if (k.str() == "min_profile") {
      auto name = stringValue(value, source, key);
      if (!name) return fail(name.error());
      auto profile = api::parseProfile(*name);
      if (!profile) return badKey(source, key, "must be \"restricted\" or \"baseline\"");
      rule.min_profile = *profile;
    } else if (k.str() == "min_isolation") {
      auto name = stringValue(value, source, key);
      if (!name) return fail(name.error());
      auto requirement = api::parseIsolationRequirement(*name);
      if (!requirement) {
        return badKey(source, key,
                      "must be \"any\", \"shared-kernel\", \"application-kernel\" or "
                      "\"hypervisor\"");
      }
      rule.min_isolation = *requirement;
    } else {
      return badKey(source, key,
                    "is not a known key (runtime_classes, min_profile, min_isolation)");
    }
  }
  return ok();
}

Status parseTrustTables(const toml::node& node, std::string_view source, TrustPolicyConfig& trust) {
  const auto* table = node.as_table();
  if (table == nullptr) {
    return badKey(source, "trust", "must be a table of levels ([trust.untrusted], ...)");
  }
  for (auto&& [k, value] : *table) {
    const std::string where = "trust." + std::string(k.str());
    auto level = api::parseTrust(k.str());
    if (!level)
      return badKey(source, where, "is not a trust level (untrusted, multi_tenant, internal)");
    const auto* rule = value.as_table();
    if (rule == nullptr) return badKey(source, where, "must be a table");
    if (auto s = parseTrustRule(*rule, source, where, trust.rule(*level)); !s) return s;
  }
  return ok();
}

Status inRange(std::int64_t value, std::int64_t min, std::int64_t max, const std::string& key) {
  if (value >= min && value <= max) return ok();
  return fail(Code::kInvalidArgument,
              key + " must be between " + std::to_string(min) + " and " + std::to_string(max), key);
}

Status validateNodeLifecycle(const ServerConfig& config) {
  if (auto s =
          inRange(config.node_heartbeat_interval_ms, 100, 60'000, "node_heartbeat_interval_ms");
      !s) {
    return s;
  }
  if (auto s = inRange(config.node_not_ready_after_ms, 200, 600'000, "node_not_ready_after_ms");
      !s) {
    return s;
  }
  // At least two heartbeats, or one late answer would make a healthy node flap.
  if (config.node_not_ready_after_ms < 2 * config.node_heartbeat_interval_ms) {
    return fail(Code::kInvalidArgument,
                "node_not_ready_after_ms must be at least twice node_heartbeat_interval_ms (" +
                    std::to_string(2 * config.node_heartbeat_interval_ms) + ")",
                "node_not_ready_after_ms");
  }
  return inRange(config.node_lost_after_seconds, 1, 86'400, "node_lost_after_seconds");
}

// The [runtime_classes.NAME] tables onto `floors`.
Status parseRuntimeClasses(const toml::node& node, std::string_view source, MemoryFloors& floors) {
  const auto* table = node.as_table();
  if (table == nullptr) {
    return badKey(source, "runtime_classes", "must be a table of classes ([runtime_classes.NAME])");
  }
  for (auto&& [k, value] : *table) {
    const std::string where = "runtime_classes." + std::string(k.str());
    const auto* cls = value.as_table();
    if (cls == nullptr) return badKey(source, where, "must be a table");
    for (auto&& [field, setting] : *cls) {
      const std::string key = where + "." + std::string(field.str());
      if (field.str() != "memory_floor_mb") {
        return badKey(source, key, "is not a known key (memory_floor_mb)");
      }
      const auto* n = setting.as_integer();
      if (n == nullptr) return badKey(source, key, "must be an integer");
      floors[std::string(k.str())] = n->get();
    }
  }
  return ok();
}

}  // namespace

std::string_view schedulerPolicyName(SchedulerPolicy policy) {
  return policy == SchedulerPolicy::kSpread ? "spread" : "binpack";
}

std::optional<SchedulerPolicy> parseSchedulerPolicy(std::string_view name) {
  if (name == "binpack") return SchedulerPolicy::kBinpack;
  if (name == "spread") return SchedulerPolicy::kSpread;
  return std::nullopt;
}

MemoryFloors defaultMemoryFloors() { return MemoryFloors{{"edera-zone", 300}}; }

Result<ServerConfig> parseConfigToml(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return fail(Code::kInvalidArgument,
                std::string(source) + ":" + std::to_string(e.source().begin.line) + ":" +
                    std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  ServerConfig config;
  for (auto&& [k, value] : root) {
    const std::string key(k.str());
    if (key == "listen" || key == "database" || key == "log_level" || key == "data_dir") {
      auto s = stringValue(value, source, key);
      if (!s) return fail(s.error());
      (key == "listen"     ? config.listen
       : key == "database" ? config.database
       : key == "data_dir" ? config.data_dir
                           : config.log_level) = std::move(*s);
    } else if (key == "insecure_http" || key == "insecure_plaintext" || key == "api_thread") {
      auto b = boolValue(value, source, key);
      if (!b) return fail(b.error());
      (key == "insecure_http"        ? config.insecure_http
       : key == "insecure_plaintext" ? config.insecure_plaintext
                                     : config.api_thread) = *b;
    } else if (key == "tls") {
      if (auto s = parseTls(value, source, config.tls); !s) return fail(s.error());
    } else if (key == "node_heartbeat_interval_ms" || key == "node_not_ready_after_ms" ||
               key == "node_lost_after_seconds" || key == "audit_retention_days" ||
               key == "probe_request_timeout_seconds" || key == "delivery_lag_target_us" ||
               key == "status_commit_interval_ms") {
      auto n = intValue(value, source, key);
      if (!n) return fail(n.error());
      (key == "node_heartbeat_interval_ms"      ? config.node_heartbeat_interval_ms
       : key == "node_not_ready_after_ms"       ? config.node_not_ready_after_ms
       : key == "node_lost_after_seconds"       ? config.node_lost_after_seconds
       : key == "audit_retention_days"          ? config.audit_retention_days
       : key == "probe_request_timeout_seconds" ? config.probe_request_timeout_seconds
       : key == "delivery_lag_target_us"        ? config.delivery_lag_target_us
                                                : config.status_commit_interval_ms) = *n;
    } else if (key == "nodes") {
      const auto* array = value.as_array();
      if (array == nullptr) {
        return badKey(source, key, "must be an array of tables ([[nodes]])");
      }
      for (std::size_t i = 0; i < array->size(); ++i) {
        const std::string where = "nodes[" + std::to_string(i) + "]";
        const auto* table = (*array)[i].as_table();
        if (table == nullptr) return badKey(source, where, "must be a table");
        auto node = parseNode(*table, source, where);
        if (!node) return fail(node.error());
        config.nodes.push_back(std::move(*node));
      }
    } else if (key == "default_trust") {
      auto name = stringValue(value, source, key);
      if (!name) return fail(name.error());
      auto level = api::parseTrust(*name);
      if (!level) return badKey(source, key, "must be untrusted, multi_tenant or internal");
      config.trust.default_trust = *level;
    } else if (key == "trust") {
      if (auto s = parseTrustTables(value, source, config.trust); !s) return fail(s.error());
    } else if (key == "allowed_registries") {
      auto list = stringList(value, source, key);
      if (!list) return fail(list.error());
      config.allowed_registries = std::move(*list);
    } else if (key == "scheduler") {
      auto name = stringValue(value, source, key);
      if (!name) return fail(name.error());
      auto policy = parseSchedulerPolicy(*name);
      if (!policy) return badKey(source, key, "must be \"binpack\" or \"spread\"");
      config.scheduler = *policy;
    } else if (key == "runtime_classes") {
      if (auto s = parseRuntimeClasses(value, source, config.memory_floors); !s) {
        return fail(s.error());
      }
    } else {
      return badKey(source, key,
                    "is not a known key (listen, data_dir, database, log_level, tls, "
                    "insecure_http, insecure_plaintext, default_trust, trust, "
                    "allowed_registries, node_heartbeat_interval_ms, node_not_ready_after_ms, "
                    "node_lost_after_seconds, audit_retention_days, "
                    "probe_request_timeout_seconds, api_thread, delivery_lag_target_us, "
                    "status_commit_interval_ms, scheduler, "
                    "runtime_classes, nodes)");
    }
  }
  return config;
}

Result<ServerConfig> loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Code::kNotFound, "cannot open config file \"" + path + "\"");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(Code::kInternal, "cannot read config file \"" + path + "\"");
  return parseConfigToml(text.str(), path);
}

std::string databasePath(const ServerConfig& config) {
  if (!config.database.empty()) return config.database;
  return (std::filesystem::path(config.data_dir) / "zoneplane.db").string();
}

tls::TlsFiles serverTlsFiles(const ServerConfig& config) {
  const auto pki = std::filesystem::path(config.data_dir) / "pki";
  const auto pick = [&](const std::string& set, const char* name) {
    return set.empty() ? (pki / name).string() : set;
  };
  return tls::TlsFiles{pick(config.tls.cert, "server.crt"), pick(config.tls.key, "server.key"),
                       pick(config.tls.ca, "ca.crt")};
}

bool isLoopbackAddress(std::string_view address) {
  auto hp = parseHostPort(address, "address");
  if (!hp) return false;
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(hp->host, ec);
  return !ec && ip.is_loopback();
}

Status validateConfig(const ServerConfig& config) {
  auto listen = parseHostPort(config.listen, "listen");
  if (!listen) return fail(listen.error());
  auto endpoint = listenEndpoint(*listen, "listen");
  if (!endpoint) return fail(endpoint.error());
  if (!endpoint->address().is_loopback() && config.insecure_http) {
    return fail(Code::kInvalidArgument,
                "listen address \"" + config.listen +
                    "\" is not loopback: --insecure-http serves the API without TLS, so only "
                    "on a loopback address",
                "listen");
  }
  if (config.data_dir.empty()) {
    return fail(Code::kInvalidArgument, "data_dir must not be empty", "data_dir");
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < config.nodes.size(); ++i) {
    const auto& node = config.nodes[i];
    const std::string where = "nodes[" + std::to_string(i) + "]";
    if (!api::isDns1123Label(node.id)) {
      return fail(Code::kInvalidArgument,
                  where + ".id \"" + node.id.substr(0, 80) + "\" must be a DNS-1123 label",
                  where + ".id");
    }
    if (!ids.insert(node.id).second) {
      return fail(Code::kInvalidArgument, "node id \"" + node.id + "\" is configured twice",
                  where + ".id");
    }
    auto address = parseHostPort(node.address, where + ".address");
    if (!address) return fail(address.error());
    if (address->port == 0) {
      return fail(Code::kInvalidArgument,
                  where + ".address \"" + node.address + "\" needs a non-zero port",
                  where + ".address");
    }
    if (config.insecure_plaintext && !isLoopbackAddress(node.address)) {
      return fail(Code::kInvalidArgument,
                  where + ".address \"" + node.address.substr(0, 200) +
                      "\" is not a loopback IP address: --insecure-plaintext talks to agents "
                      "without TLS, so only on loopback",
                  where + ".address");
    }
    for (const auto& cls : node.runtime_classes) {
      if (!api::isDns1123Label(cls)) {
        return fail(
            Code::kInvalidArgument,
            where + ".runtime_classes: \"" + cls.substr(0, 80) + "\" is not a DNS-1123 label",
            where + ".runtime_classes");
      }
    }
  }
  if (auto s = validateNodeLifecycle(config); !s) return s;
  if (auto s = inRange(config.probe_request_timeout_seconds, 10, 3'600,
                       "probe_request_timeout_seconds");
      !s) {
    return s;
  }
  if (auto s = inRange(config.audit_retention_days, 1, 36'500, "audit_retention_days"); !s) {
    return s;
  }
  if (const auto lag = config.delivery_lag_target_us; lag != 0 && (lag < 200 || lag > 100'000)) {
    return fail(Code::kInvalidArgument,
                "delivery_lag_target_us must be 0 (deliveries unpaced) or between 200 and 100000",
                "delivery_lag_target_us");
  }
  if (auto s = inRange(config.status_commit_interval_ms, 0, 1'000, "status_commit_interval_ms");
      !s) {
    return s;
  }
  for (const auto& [cls, floor] : config.memory_floors) {
    const std::string key = "runtime_classes." + cls.substr(0, 80) + ".memory_floor_mb";
    if (!api::isDns1123Label(cls)) {
      return fail(Code::kInvalidArgument,
                  "runtime_classes: \"" + cls.substr(0, 80) + "\" is not a DNS-1123 label",
                  "runtime_classes");
    }
    if (floor < 0 || floor > api::kMaxMemoryMb) {
      return fail(Code::kInvalidArgument,
                  key + " must be from 0 to " + std::to_string(api::kMaxMemoryMb), key);
    }
  }
  if (auto s = validateTrustPolicy(config.trust); !s) return s;
  if (config.allowed_registries) {
    if (auto policy = ImagePolicy::create(*config.allowed_registries); !policy) {
      return fail(policy.error());
    }
  }
  return ok();
}

Status checkTlsFiles(const ServerConfig& config) {
  if (config.insecure_http && config.insecure_plaintext) return ok();
  const auto files = serverTlsFiles(config);
  for (const auto& [path, flag] :
       {std::pair{files.cert, "--tls-cert"}, std::pair{files.key, "--tls-key"},
        std::pair{files.ca, "--tls-ca"}}) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) continue;
    return fail(Code::kFailedPrecondition,
                "no TLS file at \"" + path + "\" (" + flag +
                    "): create the cluster CA and the server certificate with "
                    "`zoneplane-server ca init --data-dir " +
                    config.data_dir + "` and `zoneplane-server certs issue --server --data-dir " +
                    config.data_dir + "`, or name the files with --tls-cert/--tls-key/--tls-ca",
                std::string(flag).substr(2));
  }
  return ok();
}

Status ensureDatabaseDirectory(const std::string& database) {
  if (database == ":memory:") return ok();
  const auto parent = std::filesystem::path(database).parent_path();
  if (parent.empty()) return ok();
  std::error_code ec;
  const bool existed = std::filesystem::exists(parent, ec);
  if (!existed) std::filesystem::create_directories(parent, ec);
  if (!ec && !existed) {
    // The directory of the database is owner-only. (The server runs with
    // umask 077, so parents it had to create are owner-only too.)
    std::filesystem::permissions(parent, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) {
    return fail(Code::kUnavailable,
                "cannot create the database directory \"" + parent.string() + "\": " + ec.message(),
                "database");
  }
  return ok();
}

}  // namespace zp::server
