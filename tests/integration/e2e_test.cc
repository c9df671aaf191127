// End to end: real zoneplane-server and zoneplane-agent processes on free
// ports, containerd from the runtime stack, driven through HTTP and the CLI
// like a user. Each test has its own node id, database and data dir, and
// removes every sandbox of its node in TearDown, also on failure.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "agent_test_support.h"
#include "cli/beast_http_client.h"
#include "cri/client.h"
#include "daemon_process.h"

namespace zp::testsupport {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using agent_it::randomHex;
std::string env(const char* name) { return agent_it::envOrEmpty(name); }

// A port that was free a moment ago (the agent must keep its address across
// restarts, because the server's node list names it).
unsigned short freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct HttpResult {
  int status = 0;
  json body;
};

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = env("ZONEPLANE_CRI_ENDPOINT");
    image_ = env("ZONEPLANE_TEST_IMAGE");
    if (endpoint_.empty() || image_.empty() || env("ZONEPLANE_TEST_REGISTRY").empty()) {
      if (env("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << "runtime stack environment missing";
      GTEST_SKIP() << "runtime stack not configured (eval \"$(scripts/stack env)\")";
    }
    const auto suffix = randomHex(8);
    node_id_ = "e2e-" + suffix;
    dir_ = fs::path("/tmp") / ("zp-e2e-" + suffix);
    fs::create_directories(dir_);
    agent_port_ = freePort();
    ASSERT_TRUE(startAgent());
    ASSERT_TRUE(startServer());
  }

  void TearDown() override {
    server_.terminate();
    agent_.terminate();
    if (endpoint_.empty()) return;
    // Whatever the test left: every sandbox of this test's node.
    if (auto client = cri::Client::create(endpoint_)) {
      if (auto s = agent_it::removeSandboxesOfNode(**client, node_id_); !s) {
        ADD_FAILURE() << s.error().message;
      }
    }
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  ::testing::AssertionResult startAgent() {
    auto s = agent_.start({ZP_AGENT_BINARY, "--node-id", node_id_, "--listen",
                           "127.0.0.1:" + std::to_string(agent_port_), "--data-dir",
                           (dir_ / "agent").string(), "--runtime-class",
                           "native=runc@" + endpoint_, "--runtime-class",
                           "isolated=" + env("ZONEPLANE_ALT_HANDLER") + "@" + endpoint_},
                          "zoneplane-agent listening on ", dir_ / "agent.log");
    if (!s) return ::testing::AssertionFailure() << s.error().message;
    return ::testing::AssertionSuccess();
  }

  // The server's policy, set explicitly: the test agent offers only
  // shared-kernel classes (native = runc, isolated = the alternative runc
  // handler), so workloads are "internal" unless a test says otherwise, and
  // images come from the stack's local registry.
  std::string defaultServerToml() const {
    return "default_trust = \"internal\"\n"
           "allowed_registries = [\"" +
           env("ZONEPLANE_TEST_REGISTRY") + "\"]\n";
  }

  ::testing::AssertionResult startServer(std::optional<std::string> toml = std::nullopt) {
    const auto config = dir_ / "server.toml";
    std::ofstream(config) << toml.value_or(defaultServerToml());
    auto s = server_.start({ZP_SERVER_BINARY, "--config", config.string(), "--listen",
                            "127.0.0.1:0", "--database", (dir_ / "server.db").string(), "--node",
                            node_id_ + "=127.0.0.1:" + std::to_string(agent_port_)},
                           "zoneplane-server listening on ", dir_ / "server.log");
    if (!s) return ::testing::AssertionFailure() << s.error().message;
    server_url_ = "http://127.0.0.1:" + std::to_string(server_.port());
    return ::testing::AssertionSuccess();
  }

  HttpResult http(cli::HttpMethod method, const std::string& target, const std::string& body = {}) {
    cli::BeastHttpClient client(*cli::parseServerUrl(server_url_), 30s);
    auto response = client.send({method, target, body});
    if (!response) {
      ADD_FAILURE() << "HTTP " << target << ": " << response.error().message;
      return {};
    }
    return {response->status, json::parse(response->body, nullptr, false)};
  }

  // Polls GET /workloads/{id} until status.state == `state` (60 s).
  json waitForState(const std::string& id, const std::string& state) {
    json last;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = http(cli::HttpMethod::kGet, "/workloads/" + id);
      last = r.body;
      if (r.status == 200 && last["status"]["state"] == state) return last;
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "workload " << id << " never reached " << state << "; last: " << last.dump();
    return last;
  }

  CliResult cli(const std::vector<std::string>& args) {
    std::string cmd = "ZONEPLANE_SERVER=" + server_url_ + " " + shellQuote(ZP_CLI_BINARY);
    for (const auto& a : args) cmd += " " + shellQuote(a);
    const auto err_file = dir_ / "cli.err";
    cmd += " 2>" + shellQuote(err_file.string());
    CliResult result;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) return result;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) result.out.append(buf, n);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.err = logTail(err_file, 200);
    return result;
  }

  std::size_t sandboxesOf(const std::string& workload_id) {
    auto client = cri::Client::create(endpoint_);
    cri::v1::PodSandboxFilter filter;
    (*filter.mutable_label_selector())["zoneplane.io/workload-id"] = workload_id;
    (*filter.mutable_label_selector())["zoneplane.io/node-id"] = node_id_;
    auto list = (*client)->listPodSandbox(filter);
    return list ? list->size() : 9999;
  }

  std::string spec(const std::string& id, const std::string& script, const std::string& cls = "native") {
    return json{{"id", id},
                {"image", image_},
                {"runtime_class", cls},
                {"memory_mb", 64},
                {"cpu_millicores", 100},
                {"command", {"sh", "-c", script}}}
        .dump();
  }

  std::string endpoint_, image_, node_id_, server_url_;
  fs::path dir_;
  unsigned short agent_port_ = 0;
  DaemonProcess agent_, server_;
};

TEST_F(EndToEndTest, SubmittedWorkloadRunsToSucceededOverHttp) {
  auto created = http(cli::HttpMethod::kPost, "/workloads", spec("ok-1", "echo hello; sleep 1"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["status"]["state"], "Pending");
  EXPECT_EQ(created.body["status"]["node"], node_id_);
  waitForState("ok-1", "Running");
  auto done = waitForState("ok-1", "Succeeded");
  EXPECT_EQ(done["status"]["exit_code"], 0);
  EXPECT_EQ(done["status"]["reason"], "Completed");
  EXPECT_EQ(done["spec"]["image"], image_);
  EXPECT_EQ(sandboxesOf("ok-1"), 1u);
}

TEST_F(EndToEndTest, CliRunsAWorkloadThatFailsWithItsExitCode) {
  auto run = cli({"run", "--image", image_, "--class", "native", "--id", "bad-1", "--memory", "64",
                  "--", "sh", "-c", "exit 3"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("bad-1"), std::string::npos);
  auto wait = cli({"get", "bad-1", "--wait", "Failed", "--timeout", "60"});
  ASSERT_EQ(wait.exit_code, 0) << wait.err;
  auto got = cli({"get", "bad-1", "-o", "json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  const auto body = json::parse(got.out);
  EXPECT_EQ(body["status"]["state"], "Failed");
  EXPECT_EQ(body["status"]["exit_code"], 3);
  // Waiting for a state it can no longer reach fails with the wait exit code.
  EXPECT_EQ(cli({"get", "bad-1", "--wait", "Succeeded", "--timeout", "10"}).exit_code, 3);
  auto listed = cli({"list", "-o", "json"});
  EXPECT_NE(listed.out.find("bad-1"), std::string::npos);
}

TEST_F(EndToEndTest, ClassMapsToItsRuntimeHandler) {
  ASSERT_EQ(http(cli::HttpMethod::kPost, "/workloads", spec("iso-1", "sleep 60", "isolated")).status, 201);
  auto running = waitForState("iso-1", "Running");
  EXPECT_EQ(running["status"]["runtime_handler"], env("ZONEPLANE_ALT_HANDLER"));
  auto client = cri::Client::create(endpoint_);
  auto sandbox = (*client)->podSandboxStatus(running["status"]["sandbox_id"].get<std::string>());
  ASSERT_TRUE(sandbox);
  EXPECT_EQ(sandbox->status().runtime_handler(), env("ZONEPLANE_ALT_HANDLER"));
}

TEST_F(EndToEndTest, InvalidSubmissionsGetPreciseErrors) {
  auto unknown = http(cli::HttpMethod::kPost, "/workloads", spec("x-1", "true", "gvisor"));
  EXPECT_EQ(unknown.status, 422);
  const std::string message = unknown.body["error"]["message"];
  EXPECT_NE(message.find("native"), std::string::npos) << message;
  EXPECT_EQ(http(cli::HttpMethod::kPost, "/workloads", "{not json").status, 400);
  auto bad_id = http(cli::HttpMethod::kPost, "/workloads", json{{"id", "Bad_Id"}, {"image", image_}, {"runtime_class", "native"}}.dump());
  EXPECT_EQ(bad_id.status, 422);
  EXPECT_EQ(bad_id.body["error"]["field"], "id");
  ASSERT_EQ(http(cli::HttpMethod::kPost, "/workloads", spec("dup-1", "true")).status, 201);
  EXPECT_EQ(http(cli::HttpMethod::kPost, "/workloads", spec("dup-1", "true")).status, 409);
  EXPECT_EQ(sandboxesOf("x-1"), 0u);
  auto cli_error = cli({"get", "no-such-workload"});
  EXPECT_EQ(cli_error.exit_code, 1);
  EXPECT_NE(cli_error.err.find("no-such-workload"), std::string::npos) << cli_error.err;
}

TEST_F(EndToEndTest, DeleteTearsDownSandboxAndForgets) {
  auto created = http(cli::HttpMethod::kPost, "/workloads", spec("del-1", "sleep 300"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  waitForState("del-1", "Running");
  ASSERT_EQ(sandboxesOf("del-1"), 1u);
  auto deleted = cli({"delete", "del-1", "--grace", "1"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(sandboxesOf("del-1"), 0u);
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/workloads/del-1").status, 404);
}

TEST_F(EndToEndTest, RestartedServerKeepsAcceptedWorkloads) {
  ASSERT_EQ(http(cli::HttpMethod::kPost, "/workloads", spec("keep-1", "sleep 300")).status, 201);
  auto before = waitForState("keep-1", "Running");
  ASSERT_EQ(server_.terminate(), 0);
  ASSERT_TRUE(startServer());
  auto after = http(cli::HttpMethod::kGet, "/workloads/keep-1");
  ASSERT_EQ(after.status, 200) << after.body.dump();
  EXPECT_EQ(after.body["status"]["state"], "Running");
  EXPECT_EQ(after.body["status"]["sandbox_id"], before["status"]["sandbox_id"]);
  EXPECT_EQ(after.body["spec"], before["spec"]);
  EXPECT_EQ(sandboxesOf("keep-1"), 1u);
}

TEST_F(EndToEndTest, UnreachableNodeReportsUnknownThenRecovers) {
  ASSERT_EQ(http(cli::HttpMethod::kPost, "/workloads", spec("far-1", "sleep 300")).status, 201);
  auto running = waitForState("far-1", "Running");
  agent_.kill9();
  auto unknown = http(cli::HttpMethod::kGet, "/workloads/far-1");
  ASSERT_EQ(unknown.status, 200);
  EXPECT_EQ(unknown.body["status"]["state"], "Unknown");
  EXPECT_EQ(unknown.body["status"]["reason"], "NodeUnreachable");
  auto nodes = http(cli::HttpMethod::kGet, "/nodes");
  EXPECT_EQ(nodes.body["items"][0]["reachable"], false);
  ASSERT_TRUE(startAgent());
  auto back = waitForState("far-1", "Running");
  EXPECT_EQ(back["status"]["sandbox_id"], running["status"]["sandbox_id"]);
  EXPECT_EQ(sandboxesOf("far-1"), 1u);
}

TEST_F(EndToEndTest, NodesShowClassesAndCapacity) {
  auto nodes = http(cli::HttpMethod::kGet, "/nodes");
  ASSERT_EQ(nodes.status, 200);
  ASSERT_EQ(nodes.body["items"].size(), 1u);
  const auto& node = nodes.body["items"][0];
  EXPECT_EQ(node["node_id"], node_id_);
  EXPECT_EQ(node["reachable"], true);
  EXPECT_EQ(node["runtime_classes"], (json{"isolated", "native"}));
  EXPECT_GT(node["capacity"]["memory_mb"].get<int>(), 0);
  auto table = cli({"nodes"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find(node_id_), std::string::npos);
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/healthz").status, 200);
}

TEST_F(EndToEndTest, WithoutAClassTheTrustLevelPicksOne) {
  // internal allows any class, own-kernel ones first; none is offered here,
  // so the rest in name order: "isolated" before "native".
  auto created = http(cli::HttpMethod::kPost, "/workloads",
                      json{{"id", "auto-1"},
                           {"image", image_},
                           {"memory_mb", 64},
                           {"command", {"sh", "-c", "sleep 60"}}}
                          .dump());
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["spec"]["runtime_class"], "isolated");
  EXPECT_EQ(created.body["spec"]["trust"], "internal");
  auto running = waitForState("auto-1", "Running");
  EXPECT_EQ(running["status"]["runtime_handler"], env("ZONEPLANE_ALT_HANDLER"));
  EXPECT_EQ(running["spec"]["runtime_class"], "isolated");
  // The agent ran it with that class's handler.
  auto client = cri::Client::create(endpoint_);
  auto sandbox = (*client)->podSandboxStatus(running["status"]["sandbox_id"].get<std::string>());
  ASSERT_TRUE(sandbox);
  EXPECT_EQ(sandbox->status().runtime_handler(), env("ZONEPLANE_ALT_HANDLER"));
}

TEST_F(EndToEndTest, UntrustedWorkloadsNeedAnOwnKernelClass) {
  auto no_class = http(cli::HttpMethod::kPost, "/workloads",
                       json{{"id", "untr-1"}, {"image", image_}, {"trust", "untrusted"}}.dump());
  EXPECT_EQ(no_class.status, 422) << no_class.body.dump();
  EXPECT_EQ(no_class.body["error"]["field"], "trust");
  EXPECT_EQ(no_class.body["error"]["message"],
            "no node offers a runtime class allowed for trust level \"untrusted\" (allowed: "
            "edera-zone, gvisor, kata; classes on offer: isolated, native)");
  auto native = http(
      cli::HttpMethod::kPost, "/workloads",
      json{{"id", "untr-2"}, {"image", image_}, {"trust", "untrusted"}, {"runtime_class", "native"}}
          .dump());
  EXPECT_EQ(native.status, 422);
  EXPECT_EQ(native.body["error"]["field"], "runtime_class");
  EXPECT_EQ(native.body["error"]["message"],
            "runtime_class \"native\" is not allowed for trust level \"untrusted\" (allowed: "
            "edera-zone, gvisor, kata)");
  EXPECT_EQ(sandboxesOf("untr-1") + sandboxesOf("untr-2"), 0u);
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/workloads/untr-1").status, 404);
}

TEST_F(EndToEndTest, SecureDefaultsRefuseSharedKernelsAndLocalRegistries) {
  // A server configured with nothing but its node: default_trust untrusted
  // and the default image policy.
  ASSERT_EQ(server_.terminate(), 0);
  ASSERT_TRUE(startServer(""));
  // (An image the default policy allows: admission refuses before any pull.)
  auto defaulted = http(
      cli::HttpMethod::kPost, "/workloads",
      json{
          {"id", "sec-1"}, {"image", "registry.example.com/busybox:1"}, {"runtime_class", "native"}}
          .dump());
  EXPECT_EQ(defaulted.status, 422) << defaulted.body.dump();
  EXPECT_EQ(defaulted.body["error"]["field"], "runtime_class");  // native is not for untrusted
  auto internal = http(cli::HttpMethod::kPost, "/workloads",
                       json{{"id", "sec-2"}, {"image", image_}, {"trust", "internal"}}.dump());
  EXPECT_EQ(internal.status, 422) << internal.body.dump();
  EXPECT_EQ(internal.body["error"]["field"], "image");  // 127.0.0.1:5000 is a loopback registry
  auto agent_port = http(cli::HttpMethod::kPost, "/workloads",
                         json{{"id", "sec-3"},
                              {"image", "127.0.0.1:" + std::to_string(agent_port_) + "/a/b:1"},
                              {"trust", "internal"}}
                             .dump());
  EXPECT_EQ(agent_port.status, 422);
  EXPECT_EQ(agent_port.body["error"]["field"], "image");
  EXPECT_EQ(sandboxesOf("sec-1") + sandboxesOf("sec-2") + sandboxesOf("sec-3"), 0u);
  auto levels = http(cli::HttpMethod::kGet, "/trust-levels");
  EXPECT_EQ(levels.body["default_trust"], "untrusted");
}

TEST_F(EndToEndTest, TrustLevelsListThePolicyWithTheClassesOnOffer) {
  auto levels = http(cli::HttpMethod::kGet, "/trust-levels");
  ASSERT_EQ(levels.status, 200) << levels.body.dump();
  EXPECT_EQ(levels.body, json::parse(R"({"default_trust":"internal","items":[
      {"name":"untrusted","default":false,"runtime_classes":["edera-zone","gvisor","kata"],
       "min_profile":"restricted","available":[]},
      {"name":"multi_tenant","default":false,"runtime_classes":["edera-zone","gvisor","kata"],
       "min_profile":"restricted","available":[]},
      {"name":"internal","default":true,"runtime_classes":["edera-zone","gvisor","kata","*"],
       "min_profile":"baseline","available":["isolated","native"]}]})"));
  auto table = cli({"trust-levels"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  const auto line_at = table.out.find("\ninternal ");
  ASSERT_NE(line_at, std::string::npos) << table.out;
  const std::string line =
      table.out.substr(line_at + 1, table.out.find('\n', line_at + 1) - line_at);
  for (const char* cell :
       {" yes ", " baseline ", " edera-zone,gvisor,kata,* ", " isolated,native"}) {
    EXPECT_NE(line.find(cell), std::string::npos) << cell << " in " << table.out;
  }
}

TEST_F(EndToEndTest, CliSecurityFlagsReachTheSpec) {
  auto run = cli({"run",       "--image",     image_,         "--id",      "cli-sec-1",  "--trust",
                  "internal",  "--class",     "native",       "--profile", "restricted", "--user",
                  "1000:1000", "--read-only", "--pids-limit", "64",        "--memory",   "64",
                  "--",        "sh",          "-c",           "echo ok"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto wait = cli({"get", "cli-sec-1", "--wait", "Succeeded", "--timeout", "60"});
  ASSERT_EQ(wait.exit_code, 0) << wait.err;
  auto got = cli({"get", "cli-sec-1", "-o", "json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  const auto body = json::parse(got.out);
  EXPECT_EQ(body["spec"]["trust"], "internal");
  EXPECT_EQ(body["spec"]["runtime_class"], "native");
  EXPECT_EQ(body["spec"]["security"], json::parse(R"({"profile":"restricted","run_as_user":1000,
      "run_as_group":1000,"read_only_root_fs":true,"pids_limit":64})"));
  auto table = cli({"get", "cli-sec-1"});
  EXPECT_NE(table.out.find("TRUST:     internal"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("PROFILE:   restricted"), std::string::npos) << table.out;
  // Without --class the server picks; a bad --user never leaves the CLI.
  auto picked = cli({"run", "--image", image_, "--id", "cli-sec-2", "--", "true"});
  ASSERT_EQ(picked.exit_code, 0) << picked.err;
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/workloads/cli-sec-2").body["spec"]["runtime_class"],
            "isolated");
  EXPECT_EQ(cli({"run", "--image", image_, "--user", "root"}).exit_code, 2);
  auto refused = cli({"run", "--image", image_, "--trust", "untrusted"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("trust level \"untrusted\""), std::string::npos) << refused.err;
}

TEST_F(EndToEndTest, HeadAnswersLikeGet) {
  ASSERT_EQ(http(cli::HttpMethod::kPost, "/workloads", spec("head-1", "true")).status, 201);
  // curl -I is what a user would try; HEAD has no body, so compare headers.
  const std::string cmd = "curl -sS -I --max-time 10 " + server_url_ + "/workloads/head-1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  ASSERT_EQ(::pclose(pipe), 0) << out;
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK")) << out;
  EXPECT_NE(out.find("Content-Type: application/json"), std::string::npos) << out;
}

}  // namespace
}  // namespace zp::testsupport
