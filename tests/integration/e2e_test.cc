// End to end on one node: real zoneplane-server and zoneplane-agent
// processes, containerd from the runtime stack, driven through HTTP and the
// CLI like a user (e2e_fixture.h). The fleet's end-to-end tests are in
// fleet_e2e_test.cc.

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>

#include "cri/client.h"
#include "e2e_fixture.h"

namespace zp::testsupport {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class EndToEndTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    agent_ = &addAgent("n");
    ASSERT_TRUE(startAgent(*agent_));
    ASSERT_TRUE(startServer());
    waitForNode(agent_->id, [](const json& n) { return n["state"] == "Ready"; });
  }
  const std::string& node_id() const { return agent_->id; }

  Agent* agent_ = nullptr;
};

TEST_F(EndToEndTest, SubmittedWorkloadRunsToSucceededOverHttp) {
  auto created = http(cli::HttpMethod::kPost, "/workloads", spec("ok-1", "echo hello; sleep 1"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["status"]["state"], "Pending");
  EXPECT_EQ(created.body["status"]["node"], node_id());
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
  // Until the node has reconnected the server does not know how the workload
  // fares: Unknown, never a wrong final state.
  auto early = http(cli::HttpMethod::kGet, "/workloads/keep-1");
  ASSERT_EQ(early.status, 200) << early.body.dump();
  EXPECT_TRUE(early.body["status"]["state"] == "Running" || early.body["status"]["state"] == "Unknown")
      << early.body.dump();
  waitForNode(node_id(), [](const json& n) { return n["state"] == "Ready"; });
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
  agent_->process.kill9();
  auto unknown = http(cli::HttpMethod::kGet, "/workloads/far-1");
  ASSERT_EQ(unknown.status, 200);
  EXPECT_EQ(unknown.body["status"]["state"], "Unknown");
  EXPECT_EQ(unknown.body["status"]["reason"], "NodeUnreachable");
  auto nodes = http(cli::HttpMethod::kGet, "/nodes");
  EXPECT_EQ(nodes.body["items"][0]["state"], "NotReady");
  ASSERT_TRUE(startAgent(*agent_));
  auto back = waitForState("far-1", "Running");
  EXPECT_EQ(back["status"]["sandbox_id"], running["status"]["sandbox_id"]);
  EXPECT_EQ(sandboxesOf("far-1"), 1u);
}

TEST_F(EndToEndTest, NodesShowClassesAndCapacity) {
  auto nodes = http(cli::HttpMethod::kGet, "/nodes");
  ASSERT_EQ(nodes.status, 200);
  ASSERT_EQ(nodes.body["items"].size(), 1u);
  const auto& node = nodes.body["items"][0];
  EXPECT_EQ(node["id"], node_id());
  EXPECT_EQ(node["state"], "Ready");
  EXPECT_EQ(node["schedulable"], true);
  EXPECT_EQ(node["runtime_classes"], (json{"isolated", "native"}));
  EXPECT_GT(node["capacity"]["memory_mb"].get<int>(), 0);
  auto table = cli({"nodes"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find(node_id()), std::string::npos);
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
                              {"image", "127.0.0.1:" + std::to_string(agent_->port) + "/a/b:1"},
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
       "min_profile":"restricted","min_isolation":"application-kernel","available":[]},
      {"name":"multi_tenant","default":false,"runtime_classes":["edera-zone","gvisor","kata"],
       "min_profile":"restricted","min_isolation":"application-kernel","available":[]},
      {"name":"internal","default":true,"runtime_classes":["edera-zone","gvisor","kata","*"],
       "min_profile":"baseline","min_isolation":"any","available":["isolated","native"]}]})"));
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

// The agent runs without a probe image (docs/architecture.md §10.2): its
// classes stay unverified, which only "any" (internal here) accepts.
TEST_F(EndToEndTest, NodesReportTheirIsolationAndProbeOnDemand) {
  const std::string node = "/nodes/" + node_id();
  auto isolation = http(cli::HttpMethod::kGet, node + "/isolation");
  ASSERT_EQ(isolation.status, 200) << isolation.body.dump();
  EXPECT_EQ(isolation.body["node"], node_id());
  std::vector<std::string> classes;
  for (const auto& c : isolation.body["classes"]) {
    classes.push_back(c["runtime_class"]);
    EXPECT_EQ(c["level"], "unverified") << c.dump();
    EXPECT_EQ(c["quarantined"], false);
  }
  EXPECT_EQ(classes, (std::vector<std::string>{"isolated", "native"}));
  EXPECT_EQ(http(cli::HttpMethod::kGet, node).body["isolation"], isolation.body["classes"]);

  auto probed = http(cli::HttpMethod::kPost, node + "/probe?runtime_class=native");
  EXPECT_EQ(probed.status, 200) << probed.body.dump();
  EXPECT_EQ(probed.body["node"], node_id());
  EXPECT_EQ(http(cli::HttpMethod::kPost, node + "/probe?runtime_class=nope").status, 404);
  EXPECT_EQ(http(cli::HttpMethod::kPost, "/nodes/nope-" + suffix_ + "/probe").status, 404);

  auto table = cli({"nodes"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("isolated:unverified,native:unverified"), std::string::npos)
      << table.out;
  auto shown = cli({"isolation", node_id(), "--probe", "--class", "native"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("CLASS:       native\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("LEVEL:       unverified\n"), std::string::npos) << shown.out;

  // An internal workload runs on an unverified class and shows it so.
  auto created = http(cli::HttpMethod::kPost, "/workloads", spec("iso-show-1", "sleep 30"));
  ASSERT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["status"]["isolation"],
            (json{{"level", "unverified"}, {"score", 0}, {"quarantined", false}}));
  auto got = cli({"get", "iso-show-1"});
  EXPECT_TRUE(std::regex_search(got.out, std::regex("\nISOLATION: +unverified\n"))) << got.out;
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
  EXPECT_TRUE(std::regex_search(table.out, std::regex("\nTRUST: +internal\n"))) << table.out;
  EXPECT_TRUE(std::regex_search(table.out, std::regex("\nPROFILE: +restricted\n"))) << table.out;
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
  const std::string cmd =
      "curl -sS -I --max-time 10" + curlOptions() + " " + server_url_ + "/workloads/head-1";
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
