#pragma once
// The end-to-end fixture: real zoneplane-server and zoneplane-agent processes
// on free ports, containerd from the runtime stack, driven through HTTPS and
// the CLI like a user. Each test gets its own node ids, database and data
// dirs, and TearDown removes every sandbox of its nodes, also on failure.
//
// Transport security is on by default (docs/architecture.md §9): a throw-away
// cluster PKI in the test's directory (tests/support/test_pki.h); every agent
// presents the certificate of its node id (--tls-cert/--tls-key/--tls-ca),
// the server its server certificate (--data-dir, --tls-*), the API is HTTPS
// checked against the test CA, and requests carry an admin token made with
// `zoneplane-server tokens create`. Agent::plaintext and the server_* flags
// below turn the insecure modes on for the tests that need them.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/http_client.h"
#include "daemon_process.h"
#include "support/test_pki.h"
#include "tls/tls_context.h"

namespace zp::testsupport {

// A port that was free a moment ago (an agent keeps its address across
// restarts, because the server's node list names it).
unsigned short freePort();
std::string shellQuote(const std::string& s);

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct HttpResult {
  int status = 0;
  nlohmann::json body;
};

class E2eTest : public ::testing::Test {
 protected:
  // One agent process; `id` is the node id, `port` fixed for its lifetime.
  struct Agent {
    std::string id;
    unsigned short port = 0;
    std::vector<std::string> extra_args;
    // The certificate it presents: its node's by default (set before startAgent).
    std::optional<tls::TlsFiles> tls_files;
    bool plaintext = false;  // --insecure-plaintext instead of TLS
    // --runtime-class native (runc) and isolated (the alt handler) on the
    // stack's endpoint; false: the classes come from extra_args (e.g. --config).
    bool default_classes = true;
    DaemonProcess process;
  };

  // Skips (or fails with ZONEPLANE_REQUIRE_STACK=1) without the stack.
  void SetUp() override;
  void TearDown() override;

  // Adds an agent (not started) named `<prefix><suffix>-<name>`.
  Agent& addAgent(const std::string& name, std::vector<std::string> extra_args = {});
  ::testing::AssertionResult startAgent(Agent& agent);
  // Starts the server with `toml` (default: defaultServerToml()) and one
  // --node flag per agent in `nodes` (default: every agent added), with the
  // test PKI's server certificate and server_insecure_* as set.
  ::testing::AssertionResult startServer(std::optional<std::string> toml = std::nullopt,
                                         std::optional<std::vector<Agent*>> nodes = std::nullopt);
  // internal trust by default and the stack's registry allowed.
  std::string defaultServerToml() const;

  // One API request to the server (HTTPS with the admin token unless
  // server_insecure_http). Adds a failure and returns status 0 when the
  // request fails.
  HttpResult http(cli::HttpMethod method, const std::string& target, const std::string& body = {});
  // The same without the failure: the error's message instead.
  Result<HttpResult> tryHttp(cli::HttpMethod method, const std::string& target,
                             const std::string& body = {});
  // Polls GET /workloads/{id} until `done(body)` (60 s); returns the last body.
  nlohmann::json waitFor(const std::string& id, const std::function<bool(const nlohmann::json&)>& done,
                         std::chrono::seconds timeout = std::chrono::seconds(60));
  nlohmann::json waitForState(const std::string& id, const std::string& state);
  // Polls GET /nodes/{id} until `done(node)`.
  nlohmann::json waitForNode(const std::string& id,
                             const std::function<bool(const nlohmann::json&)>& done,
                             std::chrono::seconds timeout = std::chrono::seconds(60));
  // Runs the CLI against the server; `prefix` is put before the command (e.g. "timeout 5").
  CliResult cli(const std::vector<std::string>& args, const std::string& prefix = {});
  // curl options that reach the API as http() does (CA, token), for tests that use curl.
  std::string curlOptions() const;
  // Sandboxes of `workload_id` on `node` (every node of the test when empty).
  std::size_t sandboxesOf(const std::string& workload_id, const std::string& node = {});
  std::string spec(const std::string& id, const std::string& script,
                   const std::string& cls = "native", int memory_mb = 64);

  // The server's modes, read by startServer().
  bool server_insecure_http_ = false;       // --insecure-http
  bool server_insecure_plaintext_ = false;  // --insecure-plaintext
  std::string server_listen_ = "127.0.0.1:0";  // --listen (a fixed port keeps server_url_)

  std::string endpoint_, image_, suffix_, server_url_;
  std::filesystem::path dir_;
  std::filesystem::path server_dir_;  // the server's --data-dir (database inside)
  TestPki pki_;
  std::string token_;  // the admin token requests carry ("" until the server made one)
  std::vector<std::unique_ptr<Agent>> agents_;
  DaemonProcess server_;

 private:
  // Creates the admin token in the server's database (once).
  ::testing::AssertionResult ensureAdminToken();
};

std::string env(const char* name);

}  // namespace zp::testsupport
