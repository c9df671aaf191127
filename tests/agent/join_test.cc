// The agent's join client (docs/architecture.md §9.1) against a small HTTPS
// server in the test that plays the control plane's POST /join: the token's
// CA fingerprint is the only trust, the token is sent only to that cluster,
// and the node's key, certificate and CA land in its TLS files.

#include "agent/join.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

// clang-format off
#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/node_tls.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/pki.h"
#include "tls/transport.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using Json = nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// HTTPS on 127.0.0.1 (port 0), one request per connection, answered by
// `handler` on the server's thread. Records the requests it got.
class JoinServer {
 public:
  using Handler = std::function<Response(const Request&)>;

  JoinServer(const tls::TlsFiles& identity, Handler handler) : handler_(std::move(handler)) {
    auto context = tls::serverContext(identity, /*require_client_cert=*/false, tls::MinVersion::kTls12);
    EXPECT_TRUE(context.has_value()) << context.error().toString();
    if (!context) return;
    context_ = *context;
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::address_v4::loopback(), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~JoinServer() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  unsigned short port() const { return port_; }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  asio::awaitable<void> accept() {
    while (true) {
      boost::system::error_code ec;
      auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(io_, serve(tls::Transport(std::move(socket), *context_)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tls::Transport transport) {
    auto handshake = transport.handshake(tls::Transport::Role::kServer);
    if (auto s = co_await std::move(handshake); !s) co_return;
    boost::beast::flat_buffer buffer;
    Request request;
    boost::system::error_code ec;
    co_await http::async_read(transport, buffer, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    Response response = handler_(request);
    response.prepare_payload();
    co_await http::async_write(transport, response, asio::redirect_error(asio::use_awaitable, ec));
    transport.close();
  }

  Handler handler_;
  std::shared_ptr<asio::ssl::context> context_;  // outlives the connections in io_
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  unsigned short port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

Response jsonResponse(http::status status, const Json& body) {
  Response response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.body() = body.dump();
  return response;
}

// 43 base64url characters: 32 bytes, as the server makes them.
constexpr const char* kSecret = "c2VjcmV0LW9mLXRoZS1qb2luLXRva2VuLXRoaXJ0eQA";

class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_.path() / "pki");
    pki_ = testsupport::makeTestPki(tmp_.path() / "pki");
    auto ca = tls::CertificateAuthority::load(pki_.dir.string());
    ASSERT_TRUE(ca.has_value()) << ca.error().toString();
    ca_.emplace(std::move(*ca));
    token_ = "zpjoin_0123456789ab." + std::string(kSecret) + "." + ca_->fingerprint();
  }

  // What the control plane does: checks the request and signs the CSR as
  // the node it names (or as `sign_as` when set).
  Response signingHandler(const Request& request, const std::string& sign_as = "") const {
    if (request.method() != http::verb::post || request.target() != "/join" ||
        request[http::field::authorization] != "Bearer " + token_) {
      return jsonResponse(http::status::unauthorized,
                          {{"error", {{"code", "Unauthenticated"}, {"message", "bad request"}}}});
    }
    const auto body = Json::parse(request.body(), nullptr, false);
    const auto node_id = sign_as.empty() ? body.value("node_id", "") : sign_as;
    auto cert = ca_->sign(body.value("csr", ""), tls::CertProfile{.identity = tls::Identity::node(node_id)});
    if (!cert) {
      return jsonResponse(http::status::bad_request,
                          {{"error", {{"code", "InvalidArgument"}, {"message", cert.error().message}}}});
    }
    return jsonResponse(http::status::created, {{"certificate", *cert}, {"ca", ca_->certPem()}});
  }

  JoinOptions options(unsigned short port, const std::string& node_id = "node-7") const {
    JoinOptions o;
    o.url = "https://127.0.0.1:" + std::to_string(port);
    o.token.flag = token_;
    o.node_id = node_id;
    o.files = files();
    o.timeout = std::chrono::seconds(30);
    return o;
  }
  tls::TlsFiles files() const {
    const auto dir = tmp_.path() / "data" / "tls";
    return {(dir / "node.crt").string(), (dir / "node.key").string(), (dir / "ca.crt").string()};
  }
  bool anyFileWritten() const {
    const auto f = files();
    return std::filesystem::exists(f.cert) || std::filesystem::exists(f.key) ||
           std::filesystem::exists(f.ca);
  }

  testsupport::TempDir tmp_{"zp-join"};
  testsupport::TestPki pki_;
  std::optional<tls::CertificateAuthority> ca_;
  std::string token_;
};

TEST(JoinTokenSourceTest, TheFlagTheFileOrTheEnvironment) {
  testsupport::TempDir dir("zp-join-token");
  const std::string file = dir.file("token");
  ASSERT_TRUE(tls::writeFileAtomically(file, "\n  zpjoin_from-the-file \n", 0600).has_value());

  EXPECT_EQ(resolveJoinToken({"zpjoin_flag", "", "zpjoin_env"}).value_or(""), "zpjoin_flag");
  EXPECT_EQ(resolveJoinToken({"", file, "zpjoin_env"}).value_or(""), "zpjoin_from-the-file");
  EXPECT_EQ(resolveJoinToken({"", "", "zpjoin_env"}).value_or(""), "zpjoin_env");

  auto none = resolveJoinToken({});
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, Code::kNotFound);
  EXPECT_NE(none.error().message.find("ZONEPLANE_JOIN_TOKEN"), std::string::npos)
      << none.error().message;

  auto both = resolveJoinToken({"zpjoin_flag", file, ""});
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().code, Code::kInvalidArgument);
  EXPECT_FALSE(checkJoinTokenSources({"zpjoin_flag", file, ""}).has_value());
}

TEST(JoinTokenSourceTest, AFileOthersMayReadIsRefusedWithoutShowingTheToken) {
  testsupport::TempDir dir("zp-join-token");
  const std::string readable = dir.file("readable");
  ASSERT_TRUE(tls::writeFileAtomically(readable, "zpjoin_s3cr3t\n", 0640).has_value());
  auto refused = resolveJoinToken({"", readable, ""});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("0640"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find(readable), std::string::npos) << refused.error().message;
  EXPECT_EQ(refused.error().message.find("s3cr3t"), std::string::npos) << refused.error().message;

  const std::string empty = dir.file("empty");
  ASSERT_TRUE(tls::writeFileAtomically(empty, " \n", 0600).has_value());
  EXPECT_EQ(resolveJoinToken({"", empty, ""}).error().code, Code::kInvalidArgument);
  auto missing = resolveJoinToken({"", dir.file("missing"), ""});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find(dir.file("missing")), std::string::npos)
      << missing.error().message;
}

TEST(JoinUrlTest, WantsHttpsHostAndPort) {
  auto url = parseJoinUrl("https://cp.example.com:7443/");
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(url->host, "cp.example.com");
  EXPECT_EQ(url->port, 7443);
  auto v6 = parseJoinUrl("https://[::1]:7443");
  ASSERT_TRUE(v6.has_value()) << v6.error().toString();
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad : {"http://cp:7443", "cp:7443", "https://cp", "https://:7443", "https://cp:0",
                          "https://cp:7443/join"}) {
    EXPECT_FALSE(parseJoinUrl(bad).has_value()) << bad;
  }
}

TEST_F(JoinTest, JoinWritesTheNodeFilesThatTheAgentThenServesWith) {
  JoinServer server(pki_.server, [&](const Request& r) { return signingHandler(r); });
  auto o = options(server.port());
  o.advertise = "10.0.0.7:9000";
  auto joined = joinCluster(o);
  ASSERT_TRUE(joined.has_value()) << joined.error().toString();
  EXPECT_EQ(*joined, JoinOutcome::kJoined);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto body = Json::parse(requests[0].body(), nullptr, false);
  EXPECT_EQ(body.value("node_id", ""), "node-7") << body.dump();
  EXPECT_EQ(body.value("address", ""), "10.0.0.7:9000") << body.dump();
  EXPECT_TRUE(body.value("csr", "").starts_with("-----BEGIN CERTIFICATE REQUEST-----")) << body.dump();
  EXPECT_EQ(requests[0][http::field::content_type], "application/json");

  const auto f = files();
  struct stat key_stat {};
  ASSERT_EQ(::stat(f.key.c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  auto ca = tls::readFile(f.ca);
  ASSERT_TRUE(ca.has_value());
  EXPECT_EQ(*ca, ca_->certPem());
  auto context = loadNodeTls(f, "node-7");
  EXPECT_TRUE(context.has_value()) << context.error().toString();
  auto other = loadNodeTls(f, "node-8");
  ASSERT_FALSE(other.has_value());
  EXPECT_NE(other.error().message.find("node/node-7"), std::string::npos) << other.error().message;
}

TEST_F(JoinTest, ARestartWithTheSameFlagsDoesNotJoinAgain) {
  JoinServer server(pki_.server, [&](const Request& r) { return signingHandler(r); });
  ASSERT_EQ(joinCluster(options(server.port())).value_or(JoinOutcome::kAlreadyJoined),
            JoinOutcome::kJoined);
  const auto cert = tls::readFile(files().cert);
  auto again = joinCluster(options(server.port()));
  ASSERT_TRUE(again.has_value()) << again.error().toString();
  EXPECT_EQ(*again, JoinOutcome::kAlreadyJoined);
  EXPECT_EQ(server.requests().size(), 1u);  // the (spent) token was not sent again
  EXPECT_EQ(tls::readFile(files().cert).value_or(""), cert.value_or("-"));
  // Without an address to advertise, none is sent.
  EXPECT_EQ(Json::parse(server.requests()[0].body()).contains("address"), false);
}

TEST_F(JoinTest, AServerOfAnotherClusterNeverSeesTheToken) {
  testsupport::TempDir other_dir("zp-join-other");
  const auto other = testsupport::makeTestPki(other_dir.path());
  JoinServer server(other.server, [&](const Request& r) { return signingHandler(r); });
  auto joined = joinCluster(options(server.port()));
  ASSERT_FALSE(joined.has_value());
  EXPECT_EQ(joined.error().code, Code::kUnauthenticated) << joined.error().toString();
  EXPECT_NE(joined.error().message.find("fingerprint"), std::string::npos) << joined.error().message;
  EXPECT_TRUE(server.requests().empty());
  EXPECT_FALSE(anyFileWritten());
}

TEST_F(JoinTest, AServerCertificateThatDoesNotNameTheHostIsRefused) {
  // Of the right CA, but naming "elsewhere", not 127.0.0.1.
  JoinServer server(pki_.node("elsewhere"), [&](const Request& r) { return signingHandler(r); });
  auto joined = joinCluster(options(server.port()));
  ASSERT_FALSE(joined.has_value());
  EXPECT_EQ(joined.error().code, Code::kUnauthenticated) << joined.error().toString();
  EXPECT_TRUE(server.requests().empty());
  EXPECT_FALSE(anyFileWritten());
}

TEST_F(JoinTest, ANodeCertificateOfTheClusterThatNamesTheHostIsNotTheServer) {
  // Of the pinned CA and naming 127.0.0.1: only its identity (node/node-1)
  // tells it from the server's.
  JoinServer server(pki_.nodeNamingLocalhost("node-1"),
                    [&](const Request& r) { return signingHandler(r); });
  auto joined = joinCluster(options(server.port()));
  ASSERT_FALSE(joined.has_value());
  EXPECT_EQ(joined.error().code, Code::kUnauthenticated) << joined.error().toString();
  EXPECT_NE(joined.error().message.find("node/node-1"), std::string::npos)
      << joined.error().message;
  EXPECT_TRUE(server.requests().empty());
  EXPECT_FALSE(anyFileWritten());
}

TEST_F(JoinTest, TheTokenMayComeFromAFile) {
  JoinServer server(pki_.server, [&](const Request& r) { return signingHandler(r); });
  auto o = options(server.port());
  o.token = {"", tmp_.file("join-token"), ""};
  ASSERT_TRUE(tls::writeFileAtomically(o.token.file, token_ + "\n", 0600).has_value());
  auto joined = joinCluster(o);
  ASSERT_TRUE(joined.has_value()) << joined.error().toString();
  EXPECT_EQ(*joined, JoinOutcome::kJoined);
  ASSERT_EQ(server.requests().size(), 1u);
  // Joined: a restart reads no token (its file may be gone).
  std::filesystem::remove(o.token.file);
  EXPECT_EQ(joinCluster(o).value_or(JoinOutcome::kJoined), JoinOutcome::kAlreadyJoined);
}

TEST_F(JoinTest, AMalformedTokenIsRefusedBeforeAnythingIsSent) {
  JoinServer server(pki_.server, [&](const Request& r) { return signingHandler(r); });
  auto o = options(server.port());
  o.token.flag = "zpjoin_0123456789ab.short." + ca_->fingerprint();
  auto joined = joinCluster(o);
  ASSERT_FALSE(joined.has_value());
  EXPECT_EQ(joined.error().code, Code::kInvalidArgument);
  EXPECT_EQ(joined.error().message.find("short"), std::string::npos) << joined.error().message;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(JoinTest, ARefusedTokenIsAClearErrorThatDoesNotRepeatIt) {
  JoinServer server(pki_.server, [](const Request&) {
    return jsonResponse(http::status::unauthorized,
                        {{"error",
                          {{"code", "Unauthenticated"},
                           {"message", "the join token is unknown, spent or expired"}}}});
  });
  auto joined = joinCluster(options(server.port()));
  ASSERT_FALSE(joined.has_value());
  EXPECT_EQ(joined.error().code, Code::kUnauthenticated);
  EXPECT_NE(joined.error().message.find("401"), std::string::npos) << joined.error().message;
  EXPECT_NE(joined.error().message.find("spent or expired"), std::string::npos)
      << joined.error().message;
  EXPECT_EQ(joined.error().message.find(kSecret), std::string::npos) << joined.error().message;
  EXPECT_FALSE(anyFileWritten());
}

TEST_F(JoinTest, ACertificateForAnotherNodeIsNotWritten) {
  JoinServer server(pki_.server, [&](const Request& r) { return signingHandler(r, "node-8"); });
  auto joined = joinCluster(options(server.port()));
  ASSERT_FALSE(joined.has_value());
  EXPECT_NE(joined.error().message.find("node/node-8"), std::string::npos) << joined.error().message;
  EXPECT_FALSE(anyFileWritten());
}

TEST_F(JoinTest, BadOptionsFailBeforeAnythingIsSent) {
  JoinServer server(pki_.server, [&](const Request& r) { return signingHandler(r); });
  auto no_node = options(server.port(), "");
  EXPECT_EQ(joinCluster(no_node).error().code, Code::kInvalidArgument);
  auto bad_url = options(server.port());
  bad_url.url = "http://127.0.0.1:1";
  EXPECT_EQ(joinCluster(bad_url).error().code, Code::kInvalidArgument);
  auto bad_advertise = options(server.port());
  bad_advertise.advertise = "nowhere";
  EXPECT_EQ(joinCluster(bad_advertise).error().code, Code::kInvalidArgument);
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace zp::agent
