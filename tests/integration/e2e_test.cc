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
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/beast_http_client.h"
#include "cri/client.h"
#include "agent_test_support.h"
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
    if (endpoint_.empty() || image_.empty()) {
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

  ::testing::AssertionResult startServer() {
    auto s = server_.start({ZP_SERVER_BINARY, "--listen", "127.0.0.1:0", "--database",
                            (dir_ / "server.db").string(), "--node",
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

}  // namespace
}  // namespace zp::testsupport
