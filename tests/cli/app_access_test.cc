// The whole CLI in-process against the in-test HTTP server: tokens, audit,
// the config file, and what a refused request prints.
#include <gtest/gtest.h>

#include "cli/app.h"
#include "cli/exit_codes.h"
#include "cli_run.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "test_http_server.h"
#include "test_workloads.h"
#include "tls/tls_context.h"
#include "write_file.h"

namespace zp::cli {
namespace {

using nlohmann::json;
using testing::CannedResponse;
using testing::cli;
using testing::CliRun;
using testing::reply;
using testing::TestHttpServer;
using testing::writeFile;
using testsupport::TempDir;

const json kCreated = json::parse(R"({"name":"ci","role":"operator",
    "created_at":"2026-12-01T14:00:00.000Z","token":"zp_0123456789ab.c2VjcmV0"})");

CliEnvironment envWith(const std::string& server, std::optional<std::string> token) {
  CliEnvironment env;
  env.server = server;
  env.token = std::move(token);
  return env;
}

TEST(CliTokens, CreateSendsTheBearerAndPrintsTheNewToken) {
  TestHttpServer server({reply(201, kCreated)});
  CliRun r = cli({"tokens", "create", "--name", "ci", "--role", "operator", "--expires-in", "90d"},
                 envWith(server.url(), "zp_admin00000000.YWRtaW4"));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(r.out.starts_with("zp_0123456789ab.c2VjcmV0\n")) << r.out;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/tokens");
  EXPECT_EQ(requests[0].authorization, "Bearer zp_admin00000000.YWRtaW4");
  EXPECT_EQ(json::parse(requests[0].body),
            json::parse(R"({"name":"ci","role":"operator","expires_in":"90d"})"));
}

TEST(CliTokens, ListRevokeAndAudit) {
  TestHttpServer server(
      {reply(200, json::parse(R"({"items":[{"name":"ci","role":"operator",
                                 "created_at":"2026-12-01T14:00:00Z"}]})")),
       reply(200,
             json::parse(R"({"name":"ci","role":"operator","created_at":"2026-12-01T14:00:00Z"})")),
       reply(200, json::parse(R"({"items":[{"seq":7,"time":"2026-12-01T14:00:00.000Z",
           "principal":"admin","action":"DELETE /tokens/ci","target":"ci","result":200,
           "source":"127.0.0.1"}]})"))});
  auto env = envWith(server.url(), "zp_admin00000000.YWRtaW4");
  CliRun r = cli({"tokens", "list"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(r.out.starts_with("NAME   ROLE       CREATED")) << r.out;
  r = cli({"tokens", "revoke", "ci"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "token \"ci\" revoked\n");
  r = cli({"audit", "--limit", "1", "-o", "json"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(json::parse(r.out)["items"][0]["seq"], 7);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, "/tokens");
  EXPECT_EQ(requests[1].method, "DELETE");
  EXPECT_EQ(requests[1].target, "/tokens/ci");
  EXPECT_EQ(requests[2].target, "/audit?limit=1");
}

TEST(CliTokens, RefusedRequestsExit1WithAHint) {
  TestHttpServer server(
      {reply(401, json::parse(testing::errorBody("Unauthenticated", "missing bearer token"))),
       reply(403, json::parse(
                      testing::errorBody("PermissionDenied", "role viewer may not GET /tokens")))});
  CliRun r = cli({"nodes"}, envWith(server.url(), std::nullopt));
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_EQ(r.err,
            "error: missing bearer token\n"
            "hint: no token: set ZONEPLANE_TOKEN or token in ~/.config/zoneplane/config.toml (an "
            "admin makes one with `zoneplane tokens create`, or `zoneplane-server tokens create` "
            "on the server's machine)\n");
  EXPECT_EQ(server.requests().at(0).authorization, "");
  r = cli({"tokens"}, envWith(server.url(), "zp_viewer0000000.dmlld2Vy"));
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_NE(r.err.find("hint: the token's role does not allow this"), std::string::npos) << r.err;
}

TEST(CliConfig, TheDefaultFileGivesServerAndTokenAndTheEnvironmentOverrides) {
  TestHttpServer server({reply(200, json{{"items", json::array()}})});
  TempDir home;
  writeFile(home.path(), "cfg/zoneplane/config.toml",
            "# written by scripts/quickstart\nserver = \"" + server.url() +
                "\"\ntoken = \"zp_file00000000.ZmlsZQ\"\n");
  CliEnvironment env;
  env.xdg_config_home = home.file("cfg");
  env.home = "/nonexistent";
  CliRun r = cli({"list"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  env.token = "zp_env000000000.ZW52";
  r = cli({"list"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  r = cli({"list", "--token", "zp_flag00000000.ZmxhZw"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].authorization, "Bearer zp_file00000000.ZmlsZQ");
  EXPECT_EQ(requests[1].authorization, "Bearer zp_env000000000.ZW52");
  EXPECT_EQ(requests[2].authorization, "Bearer zp_flag00000000.ZmxhZw");
}

TEST(CliConfig, ABadOrOpenConfigFileIsAUsageErrorAndNothingIsSent) {
  TestHttpServer server({reply(200, json{{"items", json::array()}})});
  TempDir home;
  const std::string open = writeFile(
      home.path(), "open.toml", "server = \"" + server.url() + "\"\ntoken = \"zp_a.b\"\n", 0644);
  CliRun r = cli({"list", "--config", open});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "error: permissions 0644 for \"" + open +
                       "\" are too open: it holds a token, so no one but its owner may read it; "
                       "run `chmod 600 " +
                       open + "`\n");

  const std::string unknown = writeFile(home.path(), "unknown.toml", "sever = \"https://x\"\n");
  r = cli({"list", "--config", unknown});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("unknown key \"sever\""), std::string::npos) << r.err;

  r = cli({"list", "--config", home.file("missing.toml")});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;

  // The default file is read from $HOME when XDG_CONFIG_HOME is unset.
  writeFile(home.path(), ".config/zoneplane/config.toml", "token = \"zp_a.b\"\n", 0640);
  CliEnvironment env;
  env.server = server.url();
  env.home = home.path().string();
  r = cli({"list"}, env);
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_TRUE(server.requests().empty());

  // When flags and variables give all three settings, the default file is not read.
  env.token = "zp_a.b";
  r = cli({"list", "--ca-cert", "/unused/for/http"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CliConfig, BadTokensAndMissingCaFilesAreUsageErrors) {
  TestHttpServer server({reply(200, json{{"items", json::array()}})});
  CliRun r = cli({"list", "--token", "zp_a\r\nX-Injected: 1"}, envWith(server.url(), std::nullopt));
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err.find("Injected"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the token from --token is not a zoneplane token"), std::string::npos);

  r = cli({"list", "--server", "https://127.0.0.1:1", "--ca-cert", "/nonexistent/ca.crt"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err,
            "error: cannot read the CA certificate \"/nonexistent/ca.crt\" (from --ca-cert)\n");
  EXPECT_TRUE(server.requests().empty());
}

TEST(CliConfig, ATokenOverPlainHttpToAnotherHostIsWarnedAbout) {
  CliRun r =
      cli({"list", "--server", "http://192.0.2.1:1", "--timeout", "0.001"}, envWith("", "zp_a.b"));
  EXPECT_NE(r.err.find("warning: sending the token in clear text to http://192.0.2.1:1"),
            std::string::npos)
      << r.err;
}

TEST(CliTls, HttpsWithTheCaFromTheConfigFileAndAWatchOverIt) {
  TempDir dir;
  const auto pki = testsupport::makeTestPki(dir.path());
  auto context = tls::serverContext(pki.server, false, tls::MinVersion::kTls12);
  ASSERT_TRUE(context.has_value()) << context.error().toString();
  TestHttpServer server(
      {reply(200, json{{"items", json::array()}}),
       testing::streamed(
           {json{{"type", "ADDED"}, {"workload", testing::workloadJson("wl-1", "Running")}}
                .dump()})},
      *context);
  // ca_cert relative to the file's directory: dir/ca.crt from dir/cfg/zoneplane/.
  writeFile(dir.path(), "cfg/zoneplane/config.toml",
            "server = \"" + server.url() + "\"\ntoken = \"zp_0123456789ab.c2VjcmV0\"\n" +
                "ca_cert = \"../../ca.crt\"\n");
  CliEnvironment env;
  env.xdg_config_home = dir.file("cfg");
  CliRun r = cli({"list"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "No workloads found.\n");
  r = cli({"get", "-w", "-o", "json"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(json::parse(r.out)["workload"]["spec"]["id"], "wl-1");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].authorization, "Bearer zp_0123456789ab.c2VjcmV0");

  // Without the CA (the system's trust store) the server is refused.
  r = cli({"list", "--server", server.url(), "--token", "zp_0123456789ab.c2VjcmV0"});
  EXPECT_EQ(r.code, kExitRequestError);
  EXPECT_TRUE(r.err.starts_with("error: TLS: certificate verify failed")) << r.err;
  EXPECT_EQ(server.requests().size(), 2u);
}

}  // namespace
}  // namespace zp::cli
