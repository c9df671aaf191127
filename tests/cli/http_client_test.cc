#include <gtest/gtest.h>

#include <thread>

#include "cli/api_client.h"
#include "cli/beast_http_client.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "test_http_server.h"
#include "test_workloads.h"
#include "tls/tls_context.h"

namespace zp::cli {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::CannedResponse;
using testing::StreamEnd;
using testing::TestHttpServer;

// Collects streamed lines; stops after `stop_after` lines when given.
struct Lines {
  std::vector<std::string> seen;
  std::size_t stop_after = 0;
  LineHandler handler() {
    return [this](std::string_view line) {
      seen.emplace_back(line);
      return stop_after == 0 || seen.size() < stop_after;
    };
  }
};

ServerUrl urlOf(const TestHttpServer& server, std::string prefix = "") {
  return ServerUrl{"127.0.0.1", server.port(), std::move(prefix)};
}

TEST(BeastHttpClient, SendsTheRequestAndReturnsTheResponse) {
  TestHttpServer server({{201, R"({"ok":true})"}});
  BeastHttpClient client(urlOf(server), 5s);
  auto res = client.send({HttpMethod::kPost, "/workloads", R"({"image":"x"})"});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->reason, "Created");
  EXPECT_EQ(res->body, R"({"ok":true})");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/workloads");
  EXPECT_EQ(requests[0].body, R"({"image":"x"})");
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(requests[0].host, "127.0.0.1:" + std::to_string(server.port()));
}

TEST(BeastHttpClient, ErrorStatusesAreResponsesNotErrors) {
  TestHttpServer server({{404, testing::errorBody("NotFound", "no workload \"x\"")}});
  BeastHttpClient client(urlOf(server), 5s);
  auto res = client.send({HttpMethod::kDelete, "/workloads/x", ""});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(server.requests().at(0).method, "DELETE");
}

TEST(BeastHttpClient, ConnectionRefusedSaysTheServerCannotBeReached) {
  std::uint16_t port = testing::unusedPort();
  BeastHttpClient client(ServerUrl{"127.0.0.1", port, ""}, 5s);
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnavailable);
  EXPECT_EQ(res.error().message, "cannot reach zoneplane server at http://127.0.0.1:" +
                                     std::to_string(port) + ": Connection refused");
}

TEST(BeastHttpClient, TimesOutOnASilentServer) {
  TestHttpServer server({{200, "{}", 10s}});
  BeastHttpClient client(urlOf(server), 200ms);
  auto start = std::chrono::steady_clock::now();
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kDeadlineExceeded);
  EXPECT_NE(res.error().message.find("timed out after 200ms"), std::string::npos)
      << res.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(BeastHttpClient, UnresolvableHostIsUnavailable) {
  BeastHttpClient client(ServerUrl{"no-such-host.invalid", 7700, ""}, 5s);
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnavailable);
  EXPECT_TRUE(res.error().message.starts_with(
      "cannot reach zoneplane server at http://no-such-host.invalid:7700: cannot resolve host"))
      << res.error().message;
}

TEST(BeastHttpClient, StreamsLinesOfAChunkedBody) {
  CannedResponse canned = testing::streamed({"one", "two"});
  canned.chunks.push_back("thr");
  canned.chunks.push_back("ee\nlast without newline");
  TestHttpServer server({canned});
  BeastHttpClient client(urlOf(server), 5s);
  Lines lines;
  auto res = client.stream({HttpMethod::kGet, "/workloads?watch=true", ""}, lines.handler(), {});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "");
  EXPECT_EQ(lines.seen, (std::vector<std::string>{"one", "two", "three", "last without newline"}));
}

// The server never ends this body: only reading line by line as it comes
// (and closing when the handler says stop) gets the client out.
TEST(BeastHttpClient, ReadsLinesAsTheyComeAndStopsWhenTold) {
  TestHttpServer server({testing::streamed({"a", "b", "c"}, StreamEnd::kHoldOpen)});
  BeastHttpClient client(urlOf(server), 5s);
  Lines lines;
  lines.stop_after = 2;
  auto res = client.stream({HttpMethod::kGet, "/x", ""}, lines.handler(), {});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(lines.seen, (std::vector<std::string>{"a", "b"}));
  // The client closed the connection (the server notices on its own thread).
  for (int i = 0; i < 500 && server.clientClosedStreams() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.clientClosedStreams(), 1);
}

TEST(BeastHttpClient, TheRequestTimeoutCoversTheHeadersOfAStream) {
  CannedResponse slow = testing::streamed({"late"});
  slow.delay = 300ms;  // the headers come after the timeout
  TestHttpServer server({slow});
  Lines ignored;
  auto timed_out = BeastHttpClient(urlOf(server), 100ms)
                       .stream({HttpMethod::kGet, "/x", ""}, ignored.handler(), {});
  ASSERT_FALSE(timed_out.has_value());
  EXPECT_EQ(timed_out.error().code, Code::kDeadlineExceeded);
}

TEST(BeastHttpClient, AStreamedBodyHasNoDeadlineOfItsOwn) {
  CannedResponse slow = testing::streamed({"a", "b"});
  slow.chunk_delay = 300ms;  // longer than the request timeout
  TestHttpServer server({slow});
  Lines lines;
  auto res = BeastHttpClient(urlOf(server), 100ms)
                 .stream({HttpMethod::kGet, "/x", ""}, lines.handler(), {});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(lines.seen, (std::vector<std::string>{"a", "b"}));
}

TEST(BeastHttpClient, AStreamStopsAtItsDeadline) {
  TestHttpServer server({testing::streamed({"a"}, StreamEnd::kHoldOpen)});
  BeastHttpClient client(urlOf(server), 5s);
  Lines lines;
  auto res = client.stream({HttpMethod::kGet, "/x", ""}, lines.handler(),
                           StreamOptions{std::chrono::steady_clock::now() + 200ms});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kDeadlineExceeded);
  EXPECT_EQ(lines.seen, (std::vector<std::string>{"a"}));
}

TEST(BeastHttpClient, ABodyThatBreaksOffIsUnavailable) {
  TestHttpServer server({testing::streamed({"a"}, StreamEnd::kAbort)});
  BeastHttpClient client(urlOf(server), 5s);
  Lines lines;
  auto res = client.stream({HttpMethod::kGet, "/x", ""}, lines.handler(), {});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnavailable);
  EXPECT_NE(res.error().message.find("broke off"), std::string::npos) << res.error().message;
  EXPECT_EQ(lines.seen, (std::vector<std::string>{"a"}));
}

TEST(BeastHttpClient, StreamedErrorRepliesComeBackWhole) {
  TestHttpServer server({{400, testing::errorBody("InvalidArgument", "unknown query parameter")},
                         {200, "plain\nbody\n"}});
  BeastHttpClient client(urlOf(server), 5s);
  Lines lines;
  auto res = client.stream({HttpMethod::kGet, "/x", ""}, lines.handler(), {});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body, testing::errorBody("InvalidArgument", "unknown query parameter"));
  EXPECT_TRUE(lines.seen.empty());
  // A body with a Content-Length (no chunks) streams too.
  res = client.stream({HttpMethod::kGet, "/x", ""}, lines.handler(), {});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(lines.seen, (std::vector<std::string>{"plain", "body"}));
}

TEST(ApiClient, PrefixesPathsAndDecodesReplies) {
  TestHttpServer server({{200, R"({"items":[]})"}});
  BeastHttpClient http(urlOf(server, "/api"), 5s);
  ApiClient api(http, "/api");
  ListFilters filters;
  filters.state = "Running";
  auto reply = api.listWorkloads(filters);
  ASSERT_TRUE(reply.has_value()) << reply.error().toString();
  EXPECT_EQ(*reply, json::parse(R"({"items":[]})"));
  EXPECT_EQ(server.requests().at(0).target, "/api/workloads?state=Running");
}

TEST(ApiClient, ServerErrorsAndNonJsonBodiesAreErrors) {
  TestHttpServer server({{409, testing::errorBody("AlreadyExists", "workload \"a\" exists", "id")},
                         {200, "not json"}});
  BeastHttpClient http(urlOf(server), 5s);
  ApiClient api(http, "");
  auto conflict = api.createWorkload(json{{"id", "a"}});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code, Code::kAlreadyExists);
  EXPECT_EQ(conflict.error().field, "id");
  auto garbage = api.listNodes();
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, Code::kInternal);
}

// HTTPS: the server's certificate must chain to the given CA and name the
// host; the token goes inside TLS.
class BeastHttpsClient : public ::testing::Test {
 protected:
  static std::shared_ptr<boost::asio::ssl::context> serverTls(const tls::TlsFiles& files) {
    auto context = tls::serverContext(files, false, tls::MinVersion::kTls12);
    EXPECT_TRUE(context.has_value()) << context.error().toString();
    return context ? *context : nullptr;
  }
  static ServerUrl httpsUrl(const TestHttpServer& server, std::string host = "127.0.0.1") {
    return ServerUrl{std::move(host), server.port(), "", true};
  }
  // The server notices a refused handshake on its own thread.
  static int failedHandshakes(const TestHttpServer& server) {
    for (int i = 0; i < 500 && server.failedHandshakes() == 0; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    return server.failedHandshakes();
  }

  testsupport::TempDir dir_{"zp-cli-tls"};
  testsupport::TestPki pki_ = testsupport::makeTestPki(dir_.path());
};

TEST_F(BeastHttpsClient, VerifiesTheServerAndSendsTheToken) {
  TestHttpServer server({{200, R"({"items":[]})"}}, serverTls(pki_.server));
  EXPECT_TRUE(server.url().starts_with("https://127.0.0.1:"));
  for (const char* host : {"127.0.0.1", "localhost"}) {
    BeastHttpClient client(httpsUrl(server, host), 5s,
                           {"zp_0123456789ab.c2VjcmV0", pki_.ca_cert_path});
    auto res = client.send({HttpMethod::kGet, "/nodes", ""});
    ASSERT_TRUE(res.has_value()) << host << ": " << res.error().toString();
    EXPECT_EQ(res->status, 200);
  }
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].authorization, "Bearer zp_0123456789ab.c2VjcmV0");
  EXPECT_EQ(requests[0].target, "/nodes");
  EXPECT_EQ(server.failedHandshakes(), 0);
}

TEST_F(BeastHttpsClient, NoTokenNoAuthorizationHeader) {
  TestHttpServer server({{200, "{}"}}, serverTls(pki_.server));
  BeastHttpClient client(httpsUrl(server), 5s, {"", pki_.ca_cert_path});
  ASSERT_TRUE(client.send({HttpMethod::kGet, "/healthz", ""}).has_value());
  EXPECT_EQ(server.requests().at(0).authorization, "");
}

TEST_F(BeastHttpsClient, RefusesAServerOfAnotherCa) {
  testsupport::TempDir other_dir{"zp-cli-tls-other"};
  const auto other = testsupport::makeTestPki(other_dir.path());
  TestHttpServer server({{200, "{}"}}, serverTls(other.server));
  BeastHttpClient client(httpsUrl(server), 5s, {"zp_0123456789ab.c2VjcmV0", pki_.ca_cert_path});
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnauthenticated);
  EXPECT_EQ(res.error().message,
            "TLS: certificate verify failed for zoneplane server at " + server.url() +
                ": self-signed certificate in certificate chain (is --ca-cert right? it is \"" +
                pki_.ca_cert_path + "\")");
  EXPECT_EQ(failedHandshakes(server), 1);
  EXPECT_TRUE(server.requests().empty());  // the token never left the client
}

TEST_F(BeastHttpsClient, TheSystemTrustStoreDoesNotKnowTheClusterCa) {
  TestHttpServer server({{200, "{}"}}, serverTls(pki_.server));
  BeastHttpClient client(httpsUrl(server), 5s);
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnauthenticated);
  EXPECT_NE(res.error().message.find("the system's trust store was used"), std::string::npos)
      << res.error().message;
}

TEST_F(BeastHttpsClient, RefusesANodeCertificateOfTheClusterCaThatNamesTheHost) {
  // Chain and host name check out; only the identity tells it from the server.
  TestHttpServer server({{200, "{}"}}, serverTls(pki_.nodeNamingLocalhost("node-1")));
  for (const char* host : {"127.0.0.1", "localhost"}) {
    BeastHttpClient client(httpsUrl(server, host), 5s,
                           {"zp_0123456789ab.c2VjcmV0", pki_.ca_cert_path});
    auto res = client.send({HttpMethod::kGet, "/nodes", ""});
    ASSERT_FALSE(res.has_value()) << host;
    EXPECT_EQ(res.error().code, Code::kUnauthenticated);
    EXPECT_EQ(res.error().message,
              "TLS: refusing zoneplane server at https://" + std::string(host) + ":" +
                  std::to_string(server.port()) + ": its certificate chains to the CA \"" +
                  pki_.ca_cert_path +
                  "\" but is not the API server's (the peer is node/node-1, expected server); "
                  "nothing was sent");
  }
  EXPECT_TRUE(server.requests().empty());  // the token never left the client
}

TEST_F(BeastHttpsClient, RefusesACertificateThatDoesNotNameTheHost) {
  // A node certificate of the right CA names no host.
  TestHttpServer server({{200, "{}"}}, serverTls(pki_.node("node-1")));
  for (const char* host : {"127.0.0.1", "localhost"}) {
    BeastHttpClient client(httpsUrl(server, host), 5s,
                           {"zp_0123456789ab.c2VjcmV0", pki_.ca_cert_path});
    auto res = client.send({HttpMethod::kGet, "/nodes", ""});
    ASSERT_FALSE(res.has_value()) << host;
    EXPECT_EQ(res.error().code, Code::kUnauthenticated);
    EXPECT_TRUE(res.error().message.starts_with(
        "TLS: certificate verify failed: the certificate of zoneplane server at https://" +
        std::string(host) + ":" + std::to_string(server.port()) + " does not name \"" + host +
        "\""))
        << res.error().message;
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(BeastHttpsClient, APlainHttpServerIsNotTakenForHttps) {
  TestHttpServer server({{200, "{}"}});
  BeastHttpClient client(httpsUrl(server), 5s, {"", pki_.ca_cert_path});
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnavailable);
  EXPECT_NE(res.error().message.find("is it serving HTTPS?"), std::string::npos)
      << res.error().message;
}

TEST_F(BeastHttpsClient, AnHttpUrlForAnHttpsServerSaysSo) {
  TestHttpServer server({{200, "{}"}}, serverTls(pki_.server));
  BeastHttpClient client(ServerUrl{"127.0.0.1", server.port(), ""}, 5s);
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kUnavailable);
  EXPECT_NE(res.error().message.find("is it an HTTPS server?"), std::string::npos)
      << res.error().message;
}

TEST_F(BeastHttpsClient, AnUnusableCaFileNamesIt) {
  TestHttpServer server({{200, "{}"}}, serverTls(pki_.server));
  BeastHttpClient client(httpsUrl(server), 5s, {"", pki_.server.key});
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kInvalidArgument);
  EXPECT_EQ(res.error().field, "ca_cert");
  EXPECT_NE(res.error().message.find(pki_.server.key), std::string::npos) << res.error().message;
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST_F(BeastHttpsClient, StreamsOverTls) {
  TestHttpServer server(
      {testing::streamed({"one", "two"}), testing::streamed({"a", "b", "c"}, StreamEnd::kHoldOpen)},
      serverTls(pki_.server));
  BeastHttpClient client(httpsUrl(server), 5s, {"zp_0123456789ab.c2VjcmV0", pki_.ca_cert_path});
  Lines lines;
  auto res = client.stream({HttpMethod::kGet, "/workloads?watch=true", ""}, lines.handler(), {});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(lines.seen, (std::vector<std::string>{"one", "two"}));

  // A body that never ends: the client reads lines as they come and leaves.
  Lines follow;
  follow.stop_after = 2;
  res =
      client.stream({HttpMethod::kGet, "/workloads/x/logs?follow=true", ""}, follow.handler(), {});
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(follow.seen, (std::vector<std::string>{"a", "b"}));
  for (int i = 0; i < 500 && server.clientClosedStreams() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.clientClosedStreams(), 1);
  EXPECT_EQ(server.requests().at(1).authorization, "Bearer zp_0123456789ab.c2VjcmV0");
}

TEST_F(BeastHttpsClient, TheTimeoutCoversTheHandshake) {
  // A listener that accepts and never answers: the TLS handshake waits.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  BeastHttpClient client(ServerUrl{"127.0.0.1", silent.local_endpoint().port(), "", true}, 200ms,
                         {"", pki_.ca_cert_path});
  auto res = client.send({HttpMethod::kGet, "/nodes", ""});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, Code::kDeadlineExceeded);
}

}  // namespace
}  // namespace zp::cli
