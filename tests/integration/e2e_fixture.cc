#include "e2e_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "agent_test_support.h"
#include "cli/beast_http_client.h"
#include "cli/server_url.h"
#include "cri/client.h"

namespace zp::testsupport {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string env(const char* name) { return agent_it::envOrEmpty(name); }

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

void E2eTest::SetUp() {
  endpoint_ = env("ZONEPLANE_CRI_ENDPOINT");
  image_ = env("ZONEPLANE_TEST_IMAGE");
  if (endpoint_.empty() || image_.empty() || env("ZONEPLANE_TEST_REGISTRY").empty()) {
    if (env("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << "runtime stack environment missing";
    GTEST_SKIP() << "runtime stack not configured (eval \"$(scripts/stack env)\")";
  }
  suffix_ = agent_it::randomHex(8);
  dir_ = fs::path("/tmp") / ("zp-e2e-" + suffix_);
  server_dir_ = dir_ / "server";
  fs::create_directories(dir_ / "pki");
  pki_ = makeTestPki(dir_ / "pki");
  ASSERT_FALSE(pki_.server.cert.empty()) << "the test PKI could not be made";
}

void E2eTest::TearDown() {
  server_.terminate();
  for (auto& agent : agents_) agent->process.terminate();
  if (endpoint_.empty()) return;
  // Whatever the test left: every sandbox of this test's nodes.
  if (auto client = cri::Client::create(endpoint_)) {
    for (auto& agent : agents_) {
      if (auto s = agent_it::removeSandboxesOfNode(**client, agent->id); !s) {
        ADD_FAILURE() << s.error().message;
      }
    }
  }
  std::error_code ec;
  if (!HasFailure()) fs::remove_all(dir_, ec);
}

E2eTest::Agent& E2eTest::addAgent(const std::string& name, std::vector<std::string> extra_args) {
  auto agent = std::make_unique<Agent>();
  agent->id = "e2e-" + suffix_ + "-" + name;
  agent->port = freePort();
  agent->extra_args = std::move(extra_args);
  agents_.push_back(std::move(agent));
  return *agents_.back();
}

::testing::AssertionResult E2eTest::startAgent(Agent& agent) {
  std::vector<std::string> argv{ZP_AGENT_BINARY,
                                "--node-id",
                                agent.id,
                                "--listen",
                                "127.0.0.1:" + std::to_string(agent.port),
                                "--data-dir",
                                (dir_ / agent.id).string()};
  if (agent.default_classes) {
    argv.insert(argv.end(), {"--runtime-class", "native=runc@" + endpoint_, "--runtime-class",
                             "isolated=" + env("ZONEPLANE_ALT_HANDLER") + "@" + endpoint_});
  }
  if (agent.plaintext) {
    argv.push_back("--insecure-plaintext");
  } else {
    const tls::TlsFiles files = agent.tls_files.value_or(pki_.node(agent.id));
    argv.insert(argv.end(),
                {"--tls-cert", files.cert, "--tls-key", files.key, "--tls-ca", files.ca});
  }
  argv.insert(argv.end(), agent.extra_args.begin(), agent.extra_args.end());
  auto s = agent.process.start(argv, "zoneplane-agent listening on ", dir_ / (agent.id + ".log"));
  if (!s) return ::testing::AssertionFailure() << s.error().message;
  return ::testing::AssertionSuccess();
}

std::string E2eTest::defaultServerToml() const {
  return "default_trust = \"internal\"\n"
         "allowed_registries = [\"" +
         env("ZONEPLANE_TEST_REGISTRY") + "\"]\n";
}

::testing::AssertionResult E2eTest::startServer(std::optional<std::string> toml,
                                                std::optional<std::vector<Agent*>> nodes) {
  const auto config = dir_ / "server.toml";
  std::ofstream(config) << toml.value_or(defaultServerToml());
  if (auto token = ensureAdminToken(); !token) return token;
  std::vector<std::string> argv{ZP_SERVER_BINARY, "--config",   config.string(),      "--listen",
                                server_listen_,    "--data-dir", server_dir_.string(), "--tls-cert",
                                pki_.server.cert, "--tls-key",  pki_.server.key,      "--tls-ca",
                                pki_.server.ca};
  if (server_insecure_http_) argv.push_back("--insecure-http");
  if (server_insecure_plaintext_) argv.push_back("--insecure-plaintext");
  std::vector<Agent*> listed;
  if (nodes) {
    listed = *nodes;
  } else {
    for (auto& a : agents_) listed.push_back(a.get());
  }
  for (Agent* a : listed) {
    argv.push_back("--node");
    argv.push_back(a->id + "=127.0.0.1:" + std::to_string(a->port));
  }
  auto s = server_.start(argv, "zoneplane-server listening on ", dir_ / "server.log");
  if (!s) return ::testing::AssertionFailure() << s.error().message;
  server_url_ = std::string(server_insecure_http_ ? "http" : "https") +
                "://127.0.0.1:" + std::to_string(server_.port());
  return ::testing::AssertionSuccess();
}

// ---- API tokens (docs/architecture.md §9.3): the one place that makes them,
// offline in the server's database before its first start.
::testing::AssertionResult E2eTest::ensureAdminToken() {
  if (!token_.empty()) return ::testing::AssertionSuccess();
  fs::create_directories(server_dir_);
  const std::string cmd =
      shellQuote(ZP_SERVER_BINARY) + " tokens create --name admin --role admin --data-dir " +
      shellQuote(server_dir_.string()) + " 2>>" + shellQuote((dir_ / "tokens.err").string());
  std::string out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return ::testing::AssertionFailure() << "cannot run " << cmd;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure()
           << "tokens create failed: " << logTail(dir_ / "tokens.err", 20);
  }
  token_ = out.substr(0, out.find('\n'));  // the token alone on the first line
  return ::testing::AssertionSuccess();
}

// ---- The one place the fixture speaks HTTP(S) to the server: the CLI's
// client, with the test CA and the admin token.
Result<HttpResult> E2eTest::tryHttp(cli::HttpMethod method, const std::string& target,
                                    const std::string& body) {
  auto url = cli::parseServerUrl(server_url_);
  if (!url) return fail(url.error());
  cli::ClientCredentials credentials;
  credentials.token = token_;
  if (!server_insecure_http_) credentials.ca_file = pki_.ca_cert_path;
  cli::BeastHttpClient client(*url, 30s, credentials);
  auto response = client.send({method, target, body});
  if (!response) return fail(response.error());
  return HttpResult{response->status, json::parse(response->body, nullptr, false)};
}

HttpResult E2eTest::http(cli::HttpMethod method, const std::string& target,
                         const std::string& body) {
  auto response = tryHttp(method, target, body);
  if (!response) {
    ADD_FAILURE() << "HTTP " << target << ": " << response.error().message;
    return {};
  }
  return *response;
}

std::string E2eTest::curlOptions() const {
  std::string out;
  if (!server_insecure_http_) out += " --cacert " + shellQuote(pki_.ca_cert_path);
  if (!token_.empty()) out += " -H " + shellQuote("Authorization: Bearer " + token_);
  return out;
}

json E2eTest::waitFor(const std::string& id, const std::function<bool(const json&)>& done,
                      std::chrono::seconds timeout) {
  json last;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http(cli::HttpMethod::kGet, "/workloads/" + id);
    last = r.body;
    if (r.status == 200 && done(last)) return last;
    std::this_thread::sleep_for(100ms);
  }
  ADD_FAILURE() << "workload " << id << " never got there; last: " << last.dump();
  return last;
}

json E2eTest::waitForState(const std::string& id, const std::string& state) {
  return waitFor(id, [&](const json& w) { return w["status"]["state"] == state; });
}

json E2eTest::waitForNode(const std::string& id, const std::function<bool(const json&)>& done,
                          std::chrono::seconds timeout) {
  json last;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http(cli::HttpMethod::kGet, "/nodes/" + id);
    last = r.body;
    if (r.status == 200 && done(last)) return last;
    std::this_thread::sleep_for(100ms);
  }
  ADD_FAILURE() << "node " << id << " never got there; last: " << last.dump();
  return last;
}

CliResult E2eTest::cli(const std::vector<std::string>& args, const std::string& prefix) {
  // ---- How the CLI is told the server, its CA and the token: the one place.
  // XDG_CONFIG_HOME keeps a config file of whoever runs the tests out of it.
  std::string cmd = "XDG_CONFIG_HOME=" + shellQuote((dir_ / "cli-config").string()) +
                    " ZONEPLANE_SERVER=" + server_url_;
  if (!server_insecure_http_) cmd += " ZONEPLANE_CA_CERT=" + shellQuote(pki_.ca_cert_path);
  if (!token_.empty()) cmd += " ZONEPLANE_TOKEN=" + shellQuote(token_);
  cmd += " " + prefix + " " + shellQuote(ZP_CLI_BINARY);
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

std::size_t E2eTest::sandboxesOf(const std::string& workload_id, const std::string& node) {
  auto client = cri::Client::create(endpoint_);
  if (!client) return 9999;
  std::size_t total = 0;
  for (auto& agent : agents_) {
    if (!node.empty() && agent->id != node) continue;
    cri::v1::PodSandboxFilter filter;
    (*filter.mutable_label_selector())["zoneplane.io/workload-id"] = workload_id;
    (*filter.mutable_label_selector())["zoneplane.io/node-id"] = agent->id;
    auto list = (*client)->listPodSandbox(filter);
    if (!list) return 9999;
    total += list->size();
  }
  return total;
}

std::string E2eTest::spec(const std::string& id, const std::string& script,
                          const std::string& cls, int memory_mb) {
  return json{{"id", id},
              {"image", image_},
              {"runtime_class", cls},
              {"memory_mb", memory_mb},
              {"cpu_millicores", 100},
              {"command", {"sh", "-c", script}}}
      .dump();
}

}  // namespace zp::testsupport
