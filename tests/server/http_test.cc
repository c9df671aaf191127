// HTTP-level behaviour: routing errors, limits, malformed requests,
// keep-alive, and a server restart on the same database file.

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

TEST_F(ServerFixture, UnknownPathIs404) {
  auto res = server_->get("/no/such/thing");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.json["error"]["code"], "NotFound");
  EXPECT_EQ(server_->get("/workloads/a/b").status, 404u);
  EXPECT_EQ(server_->get("/workloads/").status, 404u);
}

TEST_F(ServerFixture, WrongMethodIs405WithAllow) {
  auto put = httpRequest(server_->port(), http::verb::put, "/workloads", "{}");
  EXPECT_EQ(put.status, 405u);
  EXPECT_EQ(put.header("allow"), "POST, GET, HEAD");
  EXPECT_EQ(put.header("content-type"), "application/json");
  EXPECT_TRUE(put.json["error"].contains("message"));
  auto post = server_->post("/workloads/web-1", "{}");
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.header("allow"), "GET, HEAD, DELETE");
  EXPECT_EQ(server_->del("/nodes").status, 405u);
}

// HEAD answers exactly like GET (status, headers, Content-Length) without a
// body, on every GET route and for errors; the connection stays usable.
TEST_F(ServerFixture, HeadAnswersLikeGetWithoutABody) {
  create(spec("web-1"));
  for (const char* target : {"/healthz", "/nodes", "/workloads", "/workloads/web-1",
                             "/trust-levels", "/workloads/nope", "/no/such/path"}) {
    auto get = server_->get(target);
    auto head = httpRequest(server_->port(), http::verb::head, target);
    EXPECT_EQ(head.status, get.status) << target;
    EXPECT_EQ(head.header("content-type"), get.header("content-type")) << target;
    EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size())) << target;
    EXPECT_TRUE(head.body.empty()) << target << ": " << head.body;
  }

  // Keep-alive: a HEAD followed by a GET on one connection reads cleanly.
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), server_->port()});
  beast::flat_buffer buffer;
  http::request<http::empty_body> head_req{http::verb::head, "/healthz", 11};
  head_req.set(http::field::host, "127.0.0.1");
  http::write(socket, head_req);
  http::response_parser<http::string_body> head_parser;
  head_parser.skip(true);  // a response to HEAD has no body, whatever Content-Length says
  http::read(socket, buffer, head_parser);
  EXPECT_EQ(head_parser.get().result_int(), 200u);
  http::request<http::empty_body> get_req{http::verb::get, "/healthz", 11};
  get_req.set(http::field::host, "127.0.0.1");
  http::write(socket, get_req);
  http::response<http::string_body> get_res;
  http::read(socket, buffer, get_res);
  EXPECT_EQ(get_res.result_int(), 200u);
  EXPECT_EQ(get_res.body(), "{\"status\":\"ok\"}\n");
}

TEST_F(ServerFixture, BodyOverOneMebibyteIs413) {
  const std::string body = R"({"image":")" + std::string(1 << 20, 'a') + R"("})";
  auto res = server_->post("/workloads", body);
  EXPECT_EQ(res.status, 413u);
  EXPECT_EQ(res.json["error"]["code"], "ResourceExhausted");
  EXPECT_EQ(server_->get("/healthz").status, 200u);
}

TEST_F(ServerFixture, MalformedHttpIs400AndTheServerSurvives) {
  const std::string garbage = rawExchange(server_->port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  const std::string bad_header =
      rawExchange(server_->port(), "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_NE(bad_header.find("400"), std::string::npos) << bad_header;
  const std::string huge_header =
      rawExchange(server_->port(),
                  "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'x') + "\r\n\r\n");
  EXPECT_NE(huge_header.find("400"), std::string::npos) << huge_header.substr(0, 200);
  rawExchange(server_->port(), "POST /workloads HTTP/1.1\r\nContent-Length: 10\r\n\r\n{");
  rawExchange(server_->port(), std::string("\0\xff\xfe\r\n\r\n", 7));
  EXPECT_EQ(server_->get("/healthz").status, 200u);
}

TEST_F(ServerFixture, KeepAliveServesSeveralRequestsOnOneConnection) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), server_->port()});
  beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    http::request<http::string_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
  }
}

TEST_F(ServerFixture, IdleConnectionIsClosedAfterTheReadTimeout) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), server_->port()});
  asio::write(socket, asio::buffer(std::string("GET /hea")));  // and then nothing
  const auto started = std::chrono::steady_clock::now();
  std::string out;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(out), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_TRUE(out.empty()) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(ServerFixture, ExpectContinueIsHonoured) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), server_->port()});
  http::request<http::string_body> req{http::verb::post, "/workloads", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::expect, "100-continue");
  req.body() = spec("web-1");
  req.prepare_payload();
  http::request_serializer<http::string_body> serializer(req);
  http::write_header(socket, serializer);
  beast::flat_buffer buffer;
  http::response<http::empty_body> go_on;
  http::read(socket, buffer, go_on);
  EXPECT_EQ(go_on.result_int(), 100u);
  http::write(socket, serializer);
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result_int(), 201u) << res.body();
}

TEST(RestartTest, WorkloadsSurviveAServerRestart) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("zp-server-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "zoneplane.db").string();
  FakeAgent agent("node-1", {"native"}, {4096, 4000});
  const std::vector<NodeConfig> nodes{{"node-1", agent.address(), {}}};
  {
    auto store = store::SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error().toString();
    TestServer first(testOptions(nodes), **store);
    auto res = first.post("/workloads", ServerFixture::spec("web-1"));
    ASSERT_EQ(res.status, 201u) << res.body;
    agent.setState("web-1", api::WorkloadState::kRunning, "Started");
    ASSERT_EQ(first.get("/workloads/web-1").json["status"]["state"], "Running");
  }
  {
    auto store = store::SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error().toString();
    TestServer second(testOptions(nodes), **store);
    agent.setMode(FakeAgent::Mode::kDown);  // the last known state comes from the file
    auto res = second.get("/workloads/web-1");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.json["spec"]["image"], "busybox:1.36");
    EXPECT_EQ(res.json["status"]["state"], "Unknown");
    EXPECT_NE(res.json["status"]["message"].get<std::string>().find("Running"), std::string::npos);
    agent.setMode(FakeAgent::Mode::kNormal);
    EXPECT_EQ(second.get("/workloads/web-1").json["status"]["state"], "Running");
    EXPECT_EQ(second.post("/workloads", ServerFixture::spec("web-1")).status, 409u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zp::server::testing
