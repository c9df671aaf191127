#include "server/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "server/command_line.h"
#include "server/server.h"

namespace zp::server {
namespace {

TEST(ConfigTest, ParsesTheDocumentedExample) {
  auto config = parseConfigToml(R"(
listen = "127.0.0.1:7700"
database = "/var/lib/zoneplane/server/zoneplane.db"
log_level = "debug"
[[nodes]]
id = "node-1"
address = "127.0.0.1:9000"
runtime_classes = ["native"]
[[nodes]]
id = "node-2"
address = "10.0.0.2:9000"
)",
                                "server.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(config->listen, "127.0.0.1:7700");
  EXPECT_EQ(config->log_level, "debug");
  ASSERT_EQ(config->nodes.size(), 2u);
  EXPECT_EQ(config->nodes[0].id, "node-1");
  EXPECT_EQ(config->nodes[0].runtime_classes, std::vector<std::string>{"native"});
  EXPECT_TRUE(config->nodes[1].runtime_classes.empty());
  EXPECT_TRUE(validateConfig(*config));
}

TEST(ConfigTest, DefaultsWhenEmpty) {
  auto config = parseConfigToml("", "empty.toml");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->listen, "127.0.0.1:7700");
  EXPECT_EQ(config->data_dir, "/var/lib/zoneplane/server");
  EXPECT_EQ(databasePath(*config), "/var/lib/zoneplane/server/zoneplane.db");
  const auto files = serverTlsFiles(*config);
  EXPECT_EQ(files.cert, "/var/lib/zoneplane/server/pki/server.crt");
  EXPECT_EQ(files.key, "/var/lib/zoneplane/server/pki/server.key");
  EXPECT_EQ(files.ca, "/var/lib/zoneplane/server/pki/ca.crt");
  EXPECT_FALSE(config->insecure_http);
  EXPECT_FALSE(config->insecure_plaintext);
  EXPECT_TRUE(config->nodes.empty());
}

TEST(ConfigTest, DataDirTlsAndInsecureKeys) {
  auto moved = parseConfigToml("data_dir = \"/srv/zp\"\n", "s.toml");
  ASSERT_TRUE(moved) << moved.error().toString();
  EXPECT_EQ(databasePath(*moved), "/srv/zp/zoneplane.db");
  EXPECT_EQ(serverTlsFiles(*moved).cert, "/srv/zp/pki/server.crt");

  auto config = parseConfigToml(R"(
data_dir = "/srv/zp"
database = "/db/zp.db"
insecure_http = true
insecure_plaintext = true
api_thread = true
[tls]
cert = "/etc/zp/api.crt"
key = "/etc/zp/api.key"
)",
                                "s.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(databasePath(*config), "/db/zp.db");
  const auto files = serverTlsFiles(*config);
  EXPECT_EQ(files.cert, "/etc/zp/api.crt");
  EXPECT_EQ(files.key, "/etc/zp/api.key");
  EXPECT_EQ(files.ca, "/srv/zp/pki/ca.crt");  // not set: the default
  EXPECT_TRUE(config->insecure_http);
  EXPECT_TRUE(config->insecure_plaintext);
  EXPECT_TRUE(config->api_thread);
  EXPECT_FALSE(moved->api_thread);  // the default
  EXPECT_TRUE(validateConfig(*config));

  auto unknown = parseConfigToml("[tls]\ncertificate = \"x\"\n", "s.toml");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field, "tls.certificate");
  auto not_bool = parseConfigToml("insecure_http = \"yes\"\n", "s.toml");
  ASSERT_FALSE(not_bool);
  EXPECT_EQ(not_bool.error().field, "insecure_http");
  auto not_bool_thread = parseConfigToml("api_thread = 1\n", "s.toml");
  ASSERT_FALSE(not_bool_thread);
  EXPECT_EQ(not_bool_thread.error().field, "api_thread");
  auto empty = parseConfigToml("[tls]\nca = \"\"\n", "s.toml");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().field, "tls.ca");
  // The removed key is an unknown key now.
  EXPECT_FALSE(parseConfigToml("insecure_listen_any = true\n", "s.toml"));
}

TEST(ConfigTest, InsecureModesOnlyOnLoopback) {
  ServerConfig config;
  config.nodes = {{"node-1", "127.0.0.1:9000", {}}, {"node-2", "[::1]:9000", {}}};

  // TLS makes listening on any address fine.
  ServerConfig any = config;
  any.listen = "0.0.0.0:7700";
  EXPECT_TRUE(validateConfig(any));
  // Plain HTTP only on loopback.
  any.insecure_http = true;
  auto http = validateConfig(any);
  ASSERT_FALSE(http);
  EXPECT_EQ(http.error().field, "listen");
  EXPECT_NE(http.error().message.find("--insecure-http"), std::string::npos);
  ServerConfig local_http = config;
  local_http.insecure_http = true;
  EXPECT_TRUE(validateConfig(local_http));

  // Plain TCP to agents only when every node is a loopback IP.
  ServerConfig plain = config;
  plain.insecure_plaintext = true;
  EXPECT_TRUE(validateConfig(plain));
  for (const char* address : {"10.0.0.2:9000", "localhost:9000", "agent.example.com:9000"}) {
    ServerConfig remote = plain;
    remote.nodes.push_back({"node-3", address, {}});
    auto refused = validateConfig(remote);
    ASSERT_FALSE(refused) << address;
    EXPECT_EQ(refused.error().field, "nodes[2].address");
    EXPECT_NE(refused.error().message.find("--insecure-plaintext"), std::string::npos);
    remote.insecure_plaintext = false;
    EXPECT_TRUE(validateConfig(remote)) << address;
  }
  EXPECT_TRUE(isLoopbackAddress("127.0.0.2:1"));
  EXPECT_TRUE(isLoopbackAddress("[::1]:1"));
  EXPECT_FALSE(isLoopbackAddress("0.0.0.0:1"));
  EXPECT_FALSE(isLoopbackAddress("localhost:1"));
  EXPECT_FALSE(isLoopbackAddress("127.0.0.1"));
}

TEST(ConfigTest, MissingTlsFilesSayHowToMakeThem) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("zp-server-pki-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ServerConfig config;
  config.data_dir = dir.string();
  auto missing = checkTlsFiles(config);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kFailedPrecondition);
  EXPECT_NE(missing.error().message.find((dir / "pki" / "server.crt").string()), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("zoneplane-server ca init"), std::string::npos);
  EXPECT_NE(missing.error().message.find("zoneplane-server certs issue --server"),
            std::string::npos);

  // Every file present: accepted (their contents are the TLS context's business).
  std::filesystem::create_directories(dir / "pki");
  for (const char* name : {"server.crt", "server.key"}) std::ofstream(dir / "pki" / name) << "x";
  auto no_ca = checkTlsFiles(config);
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().message.find("ca.crt"), std::string::npos);
  std::ofstream(dir / "pki" / "ca.crt") << "x";
  EXPECT_TRUE(checkTlsFiles(config));

  // Both insecure modes: no TLS file is needed; one alone still needs them.
  ServerConfig insecure;
  insecure.data_dir = (dir / "nothing").string();
  insecure.insecure_http = true;
  EXPECT_FALSE(checkTlsFiles(insecure));
  insecure.insecure_plaintext = true;
  EXPECT_TRUE(checkTlsFiles(insecure));
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, UnknownKeysAreErrorsNamingTheKey) {
  auto top = parseConfigToml("listen = \"127.0.0.1:1\"\nlisten_port = 5\n", "s.toml");
  ASSERT_FALSE(top);
  EXPECT_NE(top.error().message.find("\"listen_port\""), std::string::npos) << top.error().message;
  EXPECT_EQ(top.error().field, "listen_port");

  auto nested = parseConfigToml("[[nodes]]\nid = \"n\"\naddres = \"x:1\"\n", "s.toml");
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().message.find("nodes[0].addres"), std::string::npos)
      << nested.error().message;
}

TEST(ConfigTest, WrongTypesAndSyntaxErrors) {
  auto type = parseConfigToml("listen = 7700\n", "s.toml");
  ASSERT_FALSE(type);
  EXPECT_NE(type.error().message.find("must be a string"), std::string::npos);
  auto classes = parseConfigToml("[[nodes]]\nruntime_classes = \"native\"\n", "s.toml");
  ASSERT_FALSE(classes);
  auto syntax = parseConfigToml("listen = \n", "s.toml");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().message.find("s.toml:1"), std::string::npos) << syntax.error().message;
}

TEST(ConfigTest, ValidationRules) {
  ServerConfig config;
  config.nodes = {{"node-1", "127.0.0.1:9000", {}}};
  EXPECT_TRUE(validateConfig(config));

  ServerConfig no_data_dir = config;
  no_data_dir.data_dir = "";
  EXPECT_EQ(validateConfig(no_data_dir).error().field, "data_dir");

  ServerConfig dup = config;
  dup.nodes.push_back({"node-1", "127.0.0.1:9001", {}});
  EXPECT_FALSE(validateConfig(dup));

  ServerConfig bad_id = config;
  bad_id.nodes[0].id = "Node_1";
  EXPECT_EQ(validateConfig(bad_id).error().field, "nodes[0].id");

  ServerConfig no_port = config;
  no_port.nodes[0].address = "127.0.0.1";
  EXPECT_FALSE(validateConfig(no_port));

  ServerConfig zero_port = config;
  zero_port.nodes[0].address = "127.0.0.1:0";
  EXPECT_FALSE(validateConfig(zero_port));

  ServerConfig bad_class = config;
  bad_class.nodes[0].runtime_classes = {"Not A Class"};
  EXPECT_FALSE(validateConfig(bad_class));

  ServerConfig hostname = config;
  hostname.listen = "example.com:7700";
  EXPECT_FALSE(validateConfig(hostname));
}

TEST(ConfigTest, NodeLifecycleKeys) {
  auto defaults = parseConfigToml("", "empty.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->node_heartbeat_interval_ms, 1000);
  EXPECT_EQ(defaults->node_not_ready_after_ms, 4000);
  EXPECT_EQ(defaults->node_lost_after_seconds, 30);

  auto config = parseConfigToml(
      "node_heartbeat_interval_ms = 500\nnode_not_ready_after_ms = 2000\n"
      "node_lost_after_seconds = 60\n",
      "s.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(config->node_heartbeat_interval_ms, 500);
  EXPECT_EQ(config->node_not_ready_after_ms, 2000);
  EXPECT_EQ(config->node_lost_after_seconds, 60);
  EXPECT_TRUE(validateConfig(*config));

  auto text = parseConfigToml("node_lost_after_seconds = \"30\"\n", "s.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().field, "node_lost_after_seconds");

  const auto refused = [](auto change) {
    ServerConfig c;
    change(c);
    auto s = validateConfig(c);
    return s ? std::string("accepted") : s.error().field;
  };
  EXPECT_EQ(refused([](ServerConfig& c) { c.node_heartbeat_interval_ms = 99; }),
            "node_heartbeat_interval_ms");
  EXPECT_EQ(refused([](ServerConfig& c) { c.node_heartbeat_interval_ms = 60'001; }),
            "node_heartbeat_interval_ms");
  // Less than two heartbeats would make a healthy node flap.
  EXPECT_EQ(refused([](ServerConfig& c) { c.node_not_ready_after_ms = 1'999; }),
            "node_not_ready_after_ms");
  EXPECT_EQ(refused([](ServerConfig& c) { c.node_not_ready_after_ms = 600'001; }),
            "node_not_ready_after_ms");
  EXPECT_EQ(refused([](ServerConfig& c) { c.node_lost_after_seconds = 0; }),
            "node_lost_after_seconds");
  EXPECT_EQ(refused([](ServerConfig& c) { c.node_lost_after_seconds = 86'401; }),
            "node_lost_after_seconds");
  EXPECT_EQ(refused([](ServerConfig& c) {
              c.node_heartbeat_interval_ms = 100;
              c.node_not_ready_after_ms = 200;
              c.node_lost_after_seconds = 1;
            }),
            "accepted");
}

TEST(ConfigTest, AuditRetentionDays) {
  auto defaults = parseConfigToml("", "empty.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->audit_retention_days, 90);
  auto config = parseConfigToml("audit_retention_days = 7\n", "s.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(config->audit_retention_days, 7);
  EXPECT_TRUE(validateConfig(*config));
  auto options = serverOptions([&] {
    ServerConfig insecure = *config;
    insecure.insecure_http = insecure.insecure_plaintext = true;
    return insecure;
  }());
  ASSERT_TRUE(options) << options.error().toString();
  EXPECT_EQ(options->audit_retention, std::chrono::hours(7 * 24));

  auto text = parseConfigToml("audit_retention_days = \"90\"\n", "s.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().field, "audit_retention_days");
  for (std::int64_t days : {0, -1, 36'501}) {
    ServerConfig c;
    c.audit_retention_days = days;
    auto s = validateConfig(c);
    ASSERT_FALSE(s) << days;
    EXPECT_EQ(s.error().field, "audit_retention_days");
  }
}

TEST(ConfigTest, DeliveryLagTargetMicroseconds) {
  auto defaults = parseConfigToml("", "empty.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->delivery_lag_target_us, 500);
  for (std::int64_t us : {0, 200, 2'000, 100'000}) {  // 0: unpaced
    auto config =
        parseConfigToml("delivery_lag_target_us = " + std::to_string(us) + "\n", "s.toml");
    ASSERT_TRUE(config) << config.error().toString();
    EXPECT_TRUE(validateConfig(*config)) << us;
    ServerConfig insecure = *config;
    insecure.insecure_http = insecure.insecure_plaintext = true;
    auto options = serverOptions(insecure);
    ASSERT_TRUE(options) << options.error().toString();
    EXPECT_EQ(options->workloads.pacing.lag_target, std::chrono::microseconds(us));
  }
  auto text = parseConfigToml("delivery_lag_target_us = \"500\"\n", "s.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().field, "delivery_lag_target_us");
  for (std::int64_t us : {-1, 1, 199, 100'001}) {
    ServerConfig c;
    c.delivery_lag_target_us = us;
    auto s = validateConfig(c);
    ASSERT_FALSE(s) << us;
    EXPECT_EQ(s.error().field, "delivery_lag_target_us");
  }
}

TEST(ConfigTest, StatusCommitIntervalMilliseconds) {
  auto defaults = parseConfigToml("", "empty.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->status_commit_interval_ms, 10);
  for (std::int64_t ms : {0, 1, 10, 1'000}) {  // 0: at once
    auto config =
        parseConfigToml("status_commit_interval_ms = " + std::to_string(ms) + "\n", "s.toml");
    ASSERT_TRUE(config) << config.error().toString();
    EXPECT_TRUE(validateConfig(*config)) << ms;
    ServerConfig insecure = *config;
    insecure.insecure_http = insecure.insecure_plaintext = true;
    auto options = serverOptions(insecure);
    ASSERT_TRUE(options) << options.error().toString();
    EXPECT_EQ(options->status_commit_interval, std::chrono::milliseconds(ms));
  }
  auto text = parseConfigToml("status_commit_interval_ms = 1.5\n", "s.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().field, "status_commit_interval_ms");
  for (std::int64_t ms : {-1, 1'001}) {
    ServerConfig c;
    c.status_commit_interval_ms = ms;
    auto s = validateConfig(c);
    ASSERT_FALSE(s) << ms;
    EXPECT_EQ(s.error().field, "status_commit_interval_ms");
  }
}

TEST(ConfigTest, ProbeRequestTimeoutSeconds) {
  auto defaults = parseConfigToml("", "empty.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->probe_request_timeout_seconds, 600);
  auto config = parseConfigToml("probe_request_timeout_seconds = 900\n", "s.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_TRUE(validateConfig(*config));
  auto options = serverOptions([&] {
    ServerConfig insecure = *config;
    insecure.insecure_http = insecure.insecure_plaintext = true;
    return insecure;
  }());
  ASSERT_TRUE(options) << options.error().toString();
  EXPECT_EQ(options->registry.probe_timeout, std::chrono::seconds(900));

  auto text = parseConfigToml("probe_request_timeout_seconds = \"600\"\n", "s.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().field, "probe_request_timeout_seconds");
  for (std::int64_t seconds : {9, 0, 3'601}) {
    ServerConfig c;
    c.probe_request_timeout_seconds = seconds;
    auto s = validateConfig(c);
    ASSERT_FALSE(s) << seconds;
    EXPECT_EQ(s.error().field, "probe_request_timeout_seconds");
  }
  for (std::int64_t seconds : {10, 3'600}) {
    ServerConfig c;
    c.probe_request_timeout_seconds = seconds;
    EXPECT_TRUE(validateConfig(c)) << seconds;
  }
}

TEST(ConfigTest, TrustPolicyAndImagePolicyDefaults) {
  auto config = parseConfigToml("", "empty.toml");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->trust, TrustPolicyConfig::defaults());
  EXPECT_EQ(config->trust.default_trust, api::TrustLevel::kUntrusted);  // secure by default
  EXPECT_FALSE(config->allowed_registries.has_value());
  EXPECT_TRUE(validateConfig(*config));
}

TEST(ConfigTest, ParsesTrustLevelsAndAllowedRegistries) {
  auto config = parseConfigToml(R"(
default_trust = "internal"
allowed_registries = ["127.0.0.1:5000", "*.example.com"]
[trust.internal]
runtime_classes = ["native", "*"]
[trust.multi_tenant]
min_profile = "restricted"
min_isolation = "hypervisor"
)",
                                "server.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_TRUE(validateConfig(*config)) << validateConfig(*config).error().toString();
  EXPECT_EQ(config->trust.default_trust, api::TrustLevel::kInternal);
  EXPECT_EQ(config->allowed_registries,
            (std::vector<std::string>{"127.0.0.1:5000", "*.example.com"}));
  const auto defaults = TrustPolicyConfig::defaults();
  // A level's table changes only the keys it sets.
  EXPECT_EQ(config->trust.rule(api::TrustLevel::kInternal),
            (TrustRule{{"native", "*"}, api::Profile::kBaseline, std::nullopt}));
  EXPECT_EQ(config->trust.rule(api::TrustLevel::kMultiTenant).runtime_classes,
            defaults.rule(api::TrustLevel::kMultiTenant).runtime_classes);
  EXPECT_EQ(config->trust.rule(api::TrustLevel::kMultiTenant).min_profile,
            api::Profile::kRestricted);
  EXPECT_EQ(config->trust.rule(api::TrustLevel::kMultiTenant).min_isolation,
            api::IsolationLevel::kHypervisor);
  EXPECT_EQ(config->trust.rule(api::TrustLevel::kUntrusted),
            defaults.rule(api::TrustLevel::kUntrusted));
}

TEST(ConfigTest, TrustAndRegistryErrorsNameTheKey) {
  struct Case {
    const char* toml;
    const char* field;
  };
  for (const auto& [toml, field] : std::initializer_list<Case>{
           {"default_trust = \"trusted\"\n", "default_trust"},
           {"default_trust = 1\n", "default_trust"},
           {"[trust.friendly]\nruntime_classes = [\"native\"]\n", "trust.friendly"},
           {"[trust.internal]\nclasses = [\"native\"]\n", "trust.internal.classes"},
           {"[trust.internal]\nmin_profile = \"privileged\"\n", "trust.internal.min_profile"},
           {"[trust.internal]\nruntime_classes = \"native\"\n", "trust.internal.runtime_classes"},
           {"trust = 3\n", "trust"},
           {"allowed_registries = \"127.0.0.1:5000\"\n", "allowed_registries"},
       }) {
    auto config = parseConfigToml(toml, "s.toml");
    ASSERT_FALSE(config) << toml;
    EXPECT_EQ(config.error().field, field) << toml << config.error().message;
  }
  for (const auto& [toml, field] : std::initializer_list<Case>{
           {"[trust.untrusted]\nruntime_classes = []\n", "trust.untrusted.runtime_classes"},
           {"[trust.internal]\nruntime_classes = [\"Native\"]\n", "trust.internal.runtime_classes"},
           {"allowed_registries = []\n", "allowed_registries"},
           {"allowed_registries = [\"host:99999\"]\n", "allowed_registries"},
       }) {
    auto config = parseConfigToml(toml, "s.toml");
    ASSERT_TRUE(config) << toml << config.error().message;
    auto valid = validateConfig(*config);
    ASSERT_FALSE(valid) << toml;
    EXPECT_EQ(valid.error().field, field) << toml << valid.error().message;
  }
}

TEST(ConfigTest, TheExampleConfigParsesAndValidates) {
  auto config = loadConfigFile(ZP_SOURCE_DIR "/examples/server.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_TRUE(validateConfig(*config)) << validateConfig(*config).error().toString();
  EXPECT_EQ(config->scheduler, SchedulerPolicy::kBinpack);
  EXPECT_EQ(config->memory_floors, defaultMemoryFloors());
}

TEST(ConfigTest, SchedulerAndMemoryFloors) {
  auto defaults = parseConfigToml("", "s.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->scheduler, SchedulerPolicy::kBinpack);
  EXPECT_EQ(defaults->memory_floors, (MemoryFloors{{"edera-zone", 300}}));

  auto config = parseConfigToml(R"(
scheduler = "spread"
[runtime_classes.gvisor]
memory_floor_mb = 64
[runtime_classes.edera-zone]
memory_floor_mb = 0
)",
                                "s.toml");
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(config->scheduler, SchedulerPolicy::kSpread);
  EXPECT_EQ(config->memory_floors, (MemoryFloors{{"edera-zone", 0}, {"gvisor", 64}}));
  EXPECT_TRUE(validateConfig(*config));

  // A class not configured keeps its default.
  auto other = parseConfigToml("[runtime_classes.kata]\nmemory_floor_mb = 128\n", "s.toml");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->memory_floors, (MemoryFloors{{"edera-zone", 300}, {"kata", 128}}));
  EXPECT_EQ(schedulerPolicyName(SchedulerPolicy::kSpread), "spread");
  EXPECT_EQ(parseSchedulerPolicy("binpack"), SchedulerPolicy::kBinpack);
  EXPECT_FALSE(parseSchedulerPolicy("Binpack"));
}

TEST(ConfigTest, SchedulerAndMemoryFloorErrorsNameTheKey) {
  const std::pair<const char*, const char*> parse_errors[] = {
      {"scheduler = \"random\"\n", "scheduler"},
      {"scheduler = 1\n", "scheduler"},
      {"runtime_classes = 1\n", "runtime_classes"},
      {"[runtime_classes]\nkata = 1\n", "runtime_classes.kata"},
      {"[runtime_classes.kata]\nmemory_floor = 1\n", "runtime_classes.kata.memory_floor"},
      {"[runtime_classes.kata]\nmemory_floor_mb = \"1\"\n",
       "runtime_classes.kata.memory_floor_mb"},
  };
  for (const auto& [toml, field] : parse_errors) {
    auto config = parseConfigToml(toml, "s.toml");
    ASSERT_FALSE(config) << toml;
    EXPECT_EQ(config.error().field, field) << toml << config.error().message;
  }
  const std::pair<const char*, const char*> value_errors[] = {
      {"[runtime_classes.kata]\nmemory_floor_mb = -1\n", "runtime_classes.kata.memory_floor_mb"},
      {"[runtime_classes.kata]\nmemory_floor_mb = 1048577\n",
       "runtime_classes.kata.memory_floor_mb"},
      {"[runtime_classes.Kata]\nmemory_floor_mb = 1\n", "runtime_classes"},
  };
  for (const auto& [toml, field] : value_errors) {
    auto config = parseConfigToml(toml, "s.toml");
    ASSERT_TRUE(config) << toml << config.error().toString();
    auto valid = validateConfig(*config);
    ASSERT_FALSE(valid) << toml;
    EXPECT_EQ(valid.error().field, field) << toml << valid.error().message;
  }
}

TEST(ConfigTest, DatabaseDirectoryIsCreatedOwnerOnly) {
  const auto root =
      std::filesystem::temp_directory_path() / ("zp-server-dbdir-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  const auto db = root / "state" / "server" / "zoneplane.db";
  ASSERT_TRUE(ensureDatabaseDirectory(db.string()));
  EXPECT_EQ(std::filesystem::status(db.parent_path()).permissions(),
            std::filesystem::perms::owner_all);
  EXPECT_TRUE(ensureDatabaseDirectory(db.string()));  // existing: fine
  EXPECT_TRUE(ensureDatabaseDirectory(":memory:"));
  std::filesystem::remove_all(root);
}

std::variant<CommandLine, int> parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

TEST(CommandLineTest, FlagsOverrideTheFile) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("zp-server-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "server.toml").string();
  std::ofstream(file) << "listen = \"127.0.0.1:7700\"\ndatabase = \"/tmp/a.db\"\n"
                         "[[nodes]]\nid = \"node-1\"\naddress = \"127.0.0.1:9000\"\n"
                         "runtime_classes = [\"native\"]\n";
  auto flags =
      parse({"zoneplane-server", "--config", file, "--listen", "127.0.0.1:0", "--node",
             "node-1=127.0.0.1:9100", "--node", "node-2=127.0.0.1:9200", "--log-level", "warn"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(flags));
  auto config = resolveConfig(std::get<CommandLine>(flags));
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(config->listen, "127.0.0.1:0");
  EXPECT_EQ(config->database, "/tmp/a.db");
  EXPECT_EQ(config->log_level, "warn");
  ASSERT_EQ(config->nodes.size(), 2u);
  EXPECT_EQ(config->nodes[0].address, "127.0.0.1:9100");
  EXPECT_EQ(config->nodes[0].runtime_classes, std::vector<std::string>{"native"});
  EXPECT_EQ(config->nodes[1].id, "node-2");
  std::filesystem::remove_all(dir);
}

TEST(CommandLineTest, DataDirAndTlsFlags) {
  auto flags =
      parse({"zoneplane-server", "--data-dir", "/srv/zp", "--tls-cert", "/c.crt", "--tls-key",
             "/c.key", "--tls-ca", "/ca.crt", "--insecure-http", "--insecure-plaintext"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(flags));
  auto config = resolveConfig(std::get<CommandLine>(flags));
  ASSERT_TRUE(config) << config.error().toString();
  EXPECT_EQ(config->data_dir, "/srv/zp");
  EXPECT_EQ(databasePath(*config), "/srv/zp/zoneplane.db");
  const auto files = serverTlsFiles(*config);
  EXPECT_EQ(files.cert, "/c.crt");
  EXPECT_EQ(files.key, "/c.key");
  EXPECT_EQ(files.ca, "/ca.crt");
  EXPECT_TRUE(config->insecure_http);
  EXPECT_TRUE(config->insecure_plaintext);

  // Without the flags the file's settings hold.
  const auto dir =
      std::filesystem::temp_directory_path() / ("zp-server-flags-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "server.toml").string();
  std::ofstream(file) << "insecure_http = true\n[tls]\nca = \"/file-ca.crt\"\n";
  auto from_file = parse({"zoneplane-server", "--config", file, "--data-dir", "/d"});
  auto resolved = resolveConfig(std::get<CommandLine>(from_file));
  ASSERT_TRUE(resolved) << resolved.error().toString();
  EXPECT_TRUE(resolved->insecure_http);
  EXPECT_FALSE(resolved->insecure_plaintext);
  EXPECT_EQ(serverTlsFiles(*resolved).ca, "/file-ca.crt");
  EXPECT_EQ(serverTlsFiles(*resolved).cert, "/d/pki/server.crt");
  std::filesystem::remove_all(dir);
}

TEST(CommandLineTest, Errors) {
  auto bad_node = parse({"zoneplane-server", "--node", "no-equals-sign"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(bad_node));
  EXPECT_FALSE(resolveConfig(std::get<CommandLine>(bad_node)));

  auto missing = parse({"zoneplane-server", "--config", "/nonexistent/zp.toml"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(missing));
  EXPECT_FALSE(resolveConfig(std::get<CommandLine>(missing)));

  auto any = parse({"zoneplane-server", "--listen", "0.0.0.0:0"});
  EXPECT_TRUE(resolveConfig(std::get<CommandLine>(any)));
  auto plain_any = parse({"zoneplane-server", "--listen", "0.0.0.0:0", "--insecure-http"});
  EXPECT_FALSE(resolveConfig(std::get<CommandLine>(plain_any)));
  auto plain_remote =
      parse({"zoneplane-server", "--node", "n1=10.1.2.3:9000", "--insecure-plaintext"});
  EXPECT_FALSE(resolveConfig(std::get<CommandLine>(plain_remote)));
  auto removed = parse({"zoneplane-server", "--insecure-listen-any"});
  ASSERT_TRUE(std::holds_alternative<int>(removed));

  auto unknown_flag = parse({"zoneplane-server", "--bogus"});
  ASSERT_TRUE(std::holds_alternative<int>(unknown_flag));
  EXPECT_NE(std::get<int>(unknown_flag), 0);
}

}  // namespace
}  // namespace zp::server
