#include "agent/config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <tuple>
#include <vector>

namespace zp::agent {
namespace {

constexpr const char* kGood = R"(
node_id = "node-1"
listen  = "127.0.0.1:9100"
data_dir = "/var/lib/zp"
[capacity]
memory_mb = 4096
cpu_millicores = 2000
[security]
uid_range_start = 200000
uid_range_size = 1000
[runtime_classes.edera-zone]
endpoint = "unix:///var/lib/edera/protect/cri.socket"
handler  = "edera"
pod_cgroup = "none"
[runtime_classes.native]
endpoint = "unix:///run/containerd/containerd.sock"
handler  = "runc"
)";

TEST(AgentConfigTest, ParsesTheDocumentedExample) {
  auto c = parseConfig(kGood, "agent.toml");
  ASSERT_TRUE(c) << c.error().toString();
  EXPECT_EQ(c->node_id, "node-1");
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 9100);
  EXPECT_EQ(c->capacity_memory_mb, 4096);
  ASSERT_EQ(c->runtime_classes.size(), 2u);
  EXPECT_EQ(c->runtime_classes.at("edera-zone").handler, "edera");
  EXPECT_EQ(c->runtime_classes.at("native").endpoint, "unix:///run/containerd/containerd.sock");
  EXPECT_EQ(c->runtime_classes.at("edera-zone").pod_cgroup, PodCgroupMode::kNone);
  EXPECT_EQ(c->runtime_classes.at("native").pod_cgroup, PodCgroupMode::kCgroupfs);  // the default
  EXPECT_EQ(c->uid_range, (UidRange{200000, 1000}));
  EXPECT_TRUE(validateConfig(*c));
  EXPECT_EQ(effectiveCapacity(*c).cpu_millicores, 2000);
}

TEST(AgentConfigTest, RejectsUnknownKeysAndWrongTypes) {
  for (const char* bad : {
           "nodeid = \"x\"",
           "node_id = 5",
           "listen = \"localhost\"",
           "listen = \"127.0.0.1:99999\"",
           "[capacity]\nmemory_mb = -1",
           "[capacity]\ncpu_millicores = 1073741825",  // more than the server accepts
           "[capacity]\ndisk_mb = 5",
           "[runtime_classes.native]\nendpoint = \"unix:///x\"\nflavour = \"y\"",
           "[runtime_classes]\nnative = 3",
           "[runtime_classes.native]\nendpoint = \"unix:///x\"\npod_cgroup = \"systemd\"",
           "[runtime_classes.native]\nendpoint = \"unix:///x\"\npod_cgroup = true",
           "[security]\nuid_range_start = \"1\"",
           "[security]\nuid_range_end = 5",
           "security = 3",
           "this is not toml",
       }) {
    EXPECT_FALSE(parseConfig(bad, "t.toml")) << bad;
  }
}

TEST(AgentConfigTest, FlagsOverride) {
  AgentConfig c;
  ASSERT_TRUE(applyRuntimeClassFlag(c, "native=runc@unix:///run/c.sock"));
  ASSERT_TRUE(applyRuntimeClassFlag(c, "dflt=@unix:///run/c.sock"));
  EXPECT_EQ(c.runtime_classes.at("native"),
            (RuntimeClassConfig{"unix:///run/c.sock", "runc", PodCgroupMode::kCgroupfs}));
  EXPECT_EQ(c.runtime_classes.at("dflt").handler, "");
  EXPECT_FALSE(applyRuntimeClassFlag(c, "native"));
  EXPECT_FALSE(applyRuntimeClassFlag(c, "native=runc"));
  ASSERT_TRUE(applyListenFlag(c, "[::1]:0"));
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
}

TEST(AgentConfigTest, ValidationNamesTheProblem) {
  auto base = *parseConfig(kGood, "agent.toml");
  auto c = base;
  c.node_id = "Node_1";
  EXPECT_EQ(validateConfig(c).error().field, "node_id");
  c = base;
  c.runtime_classes.clear();
  EXPECT_EQ(validateConfig(c).error().field, "runtime_classes");
  c = base;
  c.runtime_classes["native"].endpoint = "tcp://1.2.3.4:1";
  EXPECT_EQ(validateConfig(c).error().field, "runtime_classes.native.endpoint");
  c = base;
  c.runtime_classes["native"].handler = "runc;rm";
  EXPECT_EQ(validateConfig(c).error().field, "runtime_classes.native.handler");
  c = base;
  c.data_dir = "relative";
  EXPECT_EQ(validateConfig(c).error().field, "data_dir");
  c = base;  // more classes than the server accepts from a node
  for (int i = 0; i < 64; ++i)
    c.runtime_classes["c" + std::to_string(i)] = base.runtime_classes.at("native");
  EXPECT_EQ(validateConfig(c).error().field, "runtime_classes");
}

TEST(AgentConfigTest, TheUidRangeIsChecked) {
  EXPECT_EQ(AgentConfig{}.uid_range, (UidRange{1'000'000'000, 65'536}));
  auto base = *parseConfig(kGood, "agent.toml");
  auto c = base;
  c.uid_range.start = 0;
  EXPECT_EQ(validateConfig(c).error().field, "security.uid_range_start");
  c = base;
  c.uid_range = {2'147'483'000, 1000};  // past the largest uid a workload may use
  auto s = validateConfig(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "security.uid_range_size");
  EXPECT_NE(s.error().message.find("2147483647"), std::string::npos) << s.error().message;
  auto parsed = parseConfig(
      "node_id = \"n\"\n[security]\nuid_range_size = 0\n"
      "[runtime_classes.native]\nendpoint = \"unix:///x.sock\"\n",
      "t.toml");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(validateConfig(*parsed).error().field, "security.uid_range_size");
}

TEST(AgentConfigTest, PullKnobsHaveDefaultsAndBounds) {
  auto c = *parseConfig(kGood, "agent.toml");
  EXPECT_EQ(c.pull_timeout_seconds, 300);
  EXPECT_EQ(c.max_pulls_per_registry, 3);
  auto tuned = parseConfig(std::string(kGood).insert(0, "pull_timeout_seconds = 60\nmax_pulls_per_registry = 5\n"),
                           "agent.toml");
  ASSERT_TRUE(tuned) << tuned.error().toString();
  EXPECT_EQ(tuned->pull_timeout_seconds, 60);
  EXPECT_EQ(tuned->max_pulls_per_registry, 5);
  EXPECT_TRUE(validateConfig(*tuned));
  EXPECT_FALSE(parseConfig("pull_timeout_seconds = \"60\"", "t.toml"));
  for (std::int64_t bad : {0, -1, 3601}) {
    auto x = c;
    x.pull_timeout_seconds = bad;
    EXPECT_EQ(validateConfig(x).error().field, "pull_timeout_seconds") << bad;
  }
  for (std::int64_t bad : {0, 65}) {
    auto x = c;
    x.max_pulls_per_registry = bad;
    EXPECT_EQ(validateConfig(x).error().field, "max_pulls_per_registry") << bad;
  }
}

TEST(AgentConfigTest, SweepAndRestartKnobsHaveDefaultsAndBounds) {
  auto c = *parseConfig(kGood, "agent.toml");
  EXPECT_EQ(c.status_interval_ms, 100);
  EXPECT_EQ(c.exit_relist_interval_ms, 50);
  EXPECT_EQ(c.restart_backoff_initial_ms, 1000);
  EXPECT_EQ(c.restart_backoff_max_seconds, 60);
  EXPECT_TRUE(c.exit_hints);
  auto tuned = parseConfig(std::string(kGood).insert(0,
                                                     "status_interval_ms = 250\n"
                                                     "exit_relist_interval_ms = 0\n"
                                                     "exit_hints = false\n"
                                                     "restart_backoff_initial_ms = 50\n"
                                                     "restart_backoff_max_seconds = 5\n"),
                           "agent.toml");
  ASSERT_TRUE(tuned) << tuned.error().toString();
  EXPECT_EQ(tuned->status_interval_ms, 250);
  EXPECT_EQ(tuned->exit_relist_interval_ms, 0);  // off
  EXPECT_FALSE(tuned->exit_hints);
  EXPECT_FALSE(parseConfig("exit_hints = 1", "t.toml"));
  EXPECT_EQ(tuned->restart_backoff_initial_ms, 50);
  EXPECT_EQ(tuned->restart_backoff_max_seconds, 5);
  EXPECT_TRUE(validateConfig(*tuned));
  EXPECT_FALSE(parseConfig("status_interval_ms = 1.5", "t.toml"));
  for (std::int64_t bad : {0, 9, 60'001}) {
    auto x = c;
    x.status_interval_ms = bad;
    EXPECT_EQ(validateConfig(x).error().field, "status_interval_ms") << bad;
  }
  // Longer than the sweep is allowed (it is then off): a shorter sweep
  // alone does not make the default relist an error.
  for (std::int64_t fine : {0, 5, 100, 60'000}) {
    auto x = c;
    x.exit_relist_interval_ms = fine;
    x.status_interval_ms = 20;
    EXPECT_TRUE(validateConfig(x)) << fine;
  }
  // As the runtime applies it: off at 0 and when not below the sweep.
  EXPECT_EQ(effectiveExitRelist(c), std::chrono::milliseconds(50));
  for (const auto& [relist, sweep, applied] :
       std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
           {0, 100, 0}, {5, 100, 5}, {99, 100, 99}, {100, 100, 0}, {50, 20, 0}}) {
    auto x = c;
    x.exit_relist_interval_ms = relist;
    x.status_interval_ms = sweep;
    EXPECT_EQ(effectiveExitRelist(x), std::chrono::milliseconds(applied)) << relist << " " << sweep;
  }
  for (std::int64_t bad : {-1, 4, 60'001}) {
    auto x = c;
    x.exit_relist_interval_ms = bad;
    const auto refused = validateConfig(x);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().field, "exit_relist_interval_ms") << bad;
    EXPECT_NE(refused.error().message.find("0 (off) or between 5 and 60000"), std::string::npos)
        << refused.error().message;
  }
  for (std::int64_t bad : {0, 9, 600'001}) {
    auto x = c;
    x.restart_backoff_initial_ms = bad;
    EXPECT_EQ(validateConfig(x).error().field, "restart_backoff_initial_ms") << bad;
  }
  for (std::int64_t bad : {0, 3601}) {
    auto x = c;
    x.restart_backoff_max_seconds = bad;
    EXPECT_EQ(validateConfig(x).error().field, "restart_backoff_max_seconds") << bad;
  }
  auto inverted = c;
  inverted.restart_backoff_initial_ms = 5000;
  inverted.restart_backoff_max_seconds = 2;
  EXPECT_EQ(validateConfig(inverted).error().field, "restart_backoff_max_seconds");
}

// Mutual TLS is the default, so any listen address is fine; plaintext is the
// explicit insecure mode and only on loopback (docs/architecture.md §9.2).
TEST(AgentConfigTest, PlaintextOnlyOnLoopback) {
  auto c = *parseConfig(kGood, "agent.toml");
  EXPECT_FALSE(c.insecure_plaintext);
  c.listen_host = "0.0.0.0";
  EXPECT_TRUE(validateConfig(c));
  c.insecure_plaintext = true;
  auto s = validateConfig(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "insecure_plaintext");
  EXPECT_NE(s.error().message.find("loopback"), std::string::npos) << s.error().message;
  for (const char* loopback : {"127.0.0.1", "::1"}) {
    c.listen_host = loopback;
    EXPECT_TRUE(validateConfig(c)) << loopback;
  }
  auto parsed = parseConfig(std::string(kGood).insert(0, "insecure_plaintext = true\n"), "agent.toml");
  ASSERT_TRUE(parsed) << parsed.error().toString();
  EXPECT_TRUE(parsed->insecure_plaintext);
  EXPECT_FALSE(parseConfig("insecure_plaintext = \"yes\"", "t.toml"));
  // The flag of the plaintext-only era is gone.
  EXPECT_FALSE(parseConfig("insecure_listen_any = true", "t.toml"));
}

TEST(AgentConfigTest, TlsFilesDefaultUnderTheDataDir) {
  auto c = *parseConfig(kGood, "agent.toml");
  EXPECT_EQ(tlsFiles(c).cert, "/var/lib/zp/tls/node.crt");
  EXPECT_EQ(tlsFiles(c).key, "/var/lib/zp/tls/node.key");
  EXPECT_EQ(tlsFiles(c).ca, "/var/lib/zp/tls/ca.crt");
  auto own = parseConfig(std::string(kGood) + "[tls]\ncert = \"/etc/zp/a.crt\"\nca = \"/etc/zp/ca.pem\"\n",
                         "agent.toml");
  ASSERT_TRUE(own) << own.error().toString();
  EXPECT_EQ(tlsFiles(*own).cert, "/etc/zp/a.crt");
  EXPECT_EQ(tlsFiles(*own).key, "/var/lib/zp/tls/node.key");
  EXPECT_EQ(tlsFiles(*own).ca, "/etc/zp/ca.pem");
  for (const char* bad : {"[tls]\ncrt = \"/x\"", "[tls]\ncert = 1", "[tls]\nkey = \"\"", "tls = \"x\""}) {
    auto refused = parseConfig(bad, "t.toml");
    EXPECT_FALSE(refused) << bad;
  }
}

TEST(AgentConfigTest, PeerCostLimitsHaveDefaultsAndBounds) {
  auto c = *parseConfig(kGood, "agent.toml");
  EXPECT_EQ(c.handshake_timeout_ms, 10'000);
  EXPECT_EQ(c.idle_timeout_seconds, 120);
  EXPECT_EQ(c.max_buffered_mb, 64);
  auto tuned = parseConfig(std::string(kGood).insert(0,
                                                     "handshake_timeout_ms = 2500\n"
                                                     "idle_timeout_seconds = 30\n"
                                                     "max_buffered_mb = 16\n"),
                           "agent.toml");
  ASSERT_TRUE(tuned) << tuned.error().toString();
  EXPECT_EQ(tuned->handshake_timeout_ms, 2500);
  EXPECT_EQ(tuned->idle_timeout_seconds, 30);
  EXPECT_EQ(tuned->max_buffered_mb, 16);
  EXPECT_TRUE(validateConfig(*tuned));
  for (std::int64_t bad : {0, 99, 600'001}) {
    auto x = c;
    x.handshake_timeout_ms = bad;
    EXPECT_EQ(validateConfig(x).error().field, "handshake_timeout_ms") << bad;
  }
  for (std::int64_t bad : {0, 86'401}) {
    auto x = c;
    x.idle_timeout_seconds = bad;
    EXPECT_EQ(validateConfig(x).error().field, "idle_timeout_seconds") << bad;
  }
  for (std::int64_t bad : {1, 65'537}) {
    auto x = c;
    x.max_buffered_mb = bad;
    EXPECT_EQ(validateConfig(x).error().field, "max_buffered_mb") << bad;
  }
}

TEST(AgentConfigTest, ClassesMayClaimAnIsolationLevel) {
  auto c = *parseConfig(kGood, "agent.toml");
  EXPECT_EQ(c.runtime_classes.at("native").isolation, std::nullopt);  // no claim by default
  auto claimed = parseConfig(std::string(kGood) + "isolation = \"shared-kernel\"\n", "agent.toml");
  ASSERT_TRUE(claimed) << claimed.error().toString();
  EXPECT_EQ(claimed->runtime_classes.at("native").isolation, api::IsolationLevel::kSharedKernel);
  for (const char* level : {"hypervisor", "application-kernel"}) {
    auto x = parseConfig(std::string(kGood) + "isolation = \"" + level + "\"\n", "agent.toml");
    ASSERT_TRUE(x) << level;
    EXPECT_EQ(api::isolationLevelName(*x->runtime_classes.at("native").isolation), level);
  }
  for (const char* bad : {"isolation = \"unverified\"", "isolation = \"vm\"", "isolation = 3"}) {
    auto refused = parseConfig(std::string(kGood) + bad + "\n", "agent.toml");
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().field, "runtime_classes.native.isolation") << bad;
  }
}

TEST(AgentConfigTest, ProbeTableHasDefaultsAndBounds) {
  auto c = *parseConfig(kGood, "agent.toml");
  EXPECT_EQ(c.probe, ProbeConfig{});
  EXPECT_EQ(c.probe.image, "");  // no probe: every class stays unverified
  EXPECT_EQ(c.probe.interval_seconds, 600);
  EXPECT_EQ(c.probe.timeout_seconds, 120);
  auto tuned = parseConfig(std::string(kGood) +
                               "[probe]\nimage = \"registry.test/zoneplane/probe:1\"\n"
                               "interval_seconds = 60\ntimeout_seconds = 10\n"
                               "connect = [\"10.0.0.1:7443\", \"[fd00::1]:80\"]\n",
                           "agent.toml");
  ASSERT_TRUE(tuned) << tuned.error().toString();
  EXPECT_EQ(tuned->probe.image, "registry.test/zoneplane/probe:1");
  EXPECT_EQ(tuned->probe.interval_seconds, 60);
  EXPECT_EQ(tuned->probe.timeout_seconds, 10);
  EXPECT_EQ(tuned->probe.connect, (std::vector<std::string>{"10.0.0.1:7443", "[fd00::1]:80"}));
  EXPECT_TRUE(validateConfig(*tuned));
  for (const char* bad : {"[probe]\nimage = 1", "[probe]\nintervall_seconds = 60",
                          "[probe]\ntimeout_seconds = \"10\"", "[probe]\nconnect = \"1.2.3.4:5\"",
                          "[probe]\nconnect = [1]", "probe = \"x\""}) {
    EXPECT_FALSE(parseConfig(bad, "t.toml")) << bad;
  }
  for (std::int64_t bad : {59, 86'401}) {
    auto x = c;
    x.probe.interval_seconds = bad;
    EXPECT_EQ(validateConfig(x).error().field, "probe.interval_seconds") << bad;
  }
  for (std::int64_t bad : {9, 3601}) {
    auto x = c;
    x.probe.timeout_seconds = bad;
    EXPECT_EQ(validateConfig(x).error().field, "probe.timeout_seconds") << bad;
  }
  auto x = c;
  x.probe.image = "Not A Reference";
  EXPECT_EQ(validateConfig(x).error().field, "probe.image");
  for (const char* bad : {"server.example:7443", "10.0.0.1", "10.0.0.1:0", "10.0.0.1:x"}) {
    x = c;
    x.probe.connect = {bad};
    EXPECT_EQ(validateConfig(x).error().field, "probe.connect") << bad;
  }
  x = c;
  x.probe.connect.assign(kMaxProbeConnectTargets, "10.0.0.1:1");
  EXPECT_TRUE(validateConfig(x));
  x.probe.connect.push_back("10.0.0.1:2");
  EXPECT_EQ(validateConfig(x).error().field, "probe.connect");
}

// The shipped example stays valid.
TEST(AgentConfigTest, TheExampleParses) {
  auto c = loadConfigFile(ZP_SOURCE_DIR "/examples/agent.toml");
  ASSERT_TRUE(c) << c.error().toString();
  EXPECT_TRUE(validateConfig(*c));
  EXPECT_FALSE(c->probe.image.empty());
  EXPECT_EQ(c->runtime_classes.at("edera-zone").isolation, api::IsolationLevel::kHypervisor);
}

}  // namespace
}  // namespace zp::agent
