// HTTP-level behaviour of HttpServer behind a small Router: routing errors,
// limits, malformed requests, keep-alive, and streamed responses; every test
// runs over plain HTTP and over HTTPS (docs/architecture.md §9.3).

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "http_harness.h"
#include "open_access.h"
#include "server/async_event.h"
#include "test_tls.h"

namespace zp::server::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

// What a streamed test route writes, fed by the test through the executor.
// Lives on the server's executor.
struct Feed {
  explicit Feed(asio::any_io_executor executor) : changed(std::move(executor)) {}
  std::deque<std::string> chunks;
  bool finish = false;  // return after the queued chunks
  bool abort = false;   // abort() after the queued chunks
  bool producer_ran = false;
  std::thread::id producer_thread;
  bool close_seen = false;  // onClose ran
  bool last_write_ok = true;
  AsyncEvent changed;
  std::promise<void> done;  // the producer returned
};

BodyProducer feedProducer(Feed& feed) {
  return [&feed](ResponseStream& out) -> asio::awaitable<void> {
    feed.producer_ran = true;
    feed.producer_thread = std::this_thread::get_id();
    out.onClose([&feed] {
      feed.close_seen = true;
      feed.changed.notify();
    });
    while (true) {
      while (feed.chunks.empty() && !feed.finish && !feed.abort && out.open()) {
        co_await feed.changed.wait();
      }
      if (!out.open()) break;
      if (feed.chunks.empty()) {
        if (feed.abort) out.abort();
        break;
      }
      std::string chunk = std::move(feed.chunks.front());
      feed.chunks.pop_front();
      feed.last_write_ok = co_await out.write(std::move(chunk));
      if (!feed.last_write_ok) break;
    }
    feed.done.set_value();
  };
}

// The parameter: HTTPS or plain HTTP, and whether the connections' I/O has
// a thread of its own (HttpHarness).
struct Mode {
  bool https = false;
  bool api_thread = false;
};

class HttpTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    if (GetParam().https) {
      char dir[] = "/tmp/zp-http-tls-XXXXXX";
      ASSERT_NE(::mkdtemp(dir), nullptr);
      dir_ = dir;
      tls_ = std::make_unique<TestTls>(dir_);
      options_.tls = tls_->api;
    }
    const auto text = [](std::string body) {
      return [body](HttpRequest) -> asio::awaitable<HttpResponse> {
        co_return jsonResponse(http_status::kOk, nlohmann::json{{"status", body}});
      };
    };
    router_.setAccessControl(&openAccess());  // the router's own 404/405 ask it
    router_.add(http::verb::get, "/healthz", auth::Permission::kPublic, text("ok"));
    router_.add(http::verb::get, "/workloads", auth::Permission::kPublic, text("list"));
    router_.add(http::verb::post, "/workloads", auth::Permission::kPublic,
                [](HttpRequest r) -> asio::awaitable<HttpResponse> {
                  co_return jsonResponse(http_status::kCreated, nlohmann::json{{"echo", r.body}});
                });
    router_.add(http::verb::get, "/workloads/{id}", auth::Permission::kPublic, text("get"));
    router_.add(http::verb::post, "/thread", auth::Permission::kPublic,
                [this](HttpRequest) -> asio::awaitable<HttpResponse> {
                  handler_thread_ = std::this_thread::get_id();
                  co_return jsonResponse(http_status::kOk, nlohmann::json::object());
                });
    router_.add(http::verb::delete_, "/workloads/{id}", auth::Permission::kPublic, text("delete"));
    router_.add(http::verb::get, "/stream", auth::Permission::kPublic,
                [this](HttpRequest) -> asio::awaitable<HttpResponse> {
                  HttpResponse response;
                  response.content_type = "application/x-ndjson";
                  response.headers.emplace_back("X-Test", "1");
                  auto held = held_;  // released with the response
                  response.stream = [producer = feedProducer(feed_), held](ResponseStream& out) {
                    return producer(out);
                  };
                  co_return response;
                });
    http_ = std::make_unique<HttpHarness>(io_, router_, options_, GetParam().api_thread);
    http_->start();
  }
  void TearDown() override {
    http_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void push(std::string chunk) {
    http_->onExecutor([&] {
      feed_.chunks.push_back(chunk);
      feed_.changed.notify();
    });
  }
  void finish() {
    http_->onExecutor([&] {
      feed_.finish = true;
      feed_.changed.notify();
    });
  }
  bool producerReturned() {
    return feed_.done.get_future().wait_for(10s) == std::future_status::ready;
  }
  // Where clients connect: HTTPS trusting the test CA, or plain HTTP.
  HttpTarget to() const { return HttpTarget(http_->port(), tls_ ? tls_->client : nullptr); }

  std::filesystem::path dir_;
  std::unique_ptr<TestTls> tls_;
  asio::io_context io_;
  Feed feed_{io_.get_executor()};
  std::shared_ptr<int> held_ = std::make_shared<int>(0);
  std::thread::id handler_thread_;  // where POST /thread ran
  Router router_;
  HttpServerOptions options_;
  std::unique_ptr<HttpHarness> http_;
};

TEST_P(HttpTest, UnknownPathIs404) {
  auto res = httpRequest(to(), http::verb::get, "/no/such/thing");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.json["error"]["code"], "NotFound");
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/workloads/a/b").status, 404u);
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/workloads/").status, 404u);
}

TEST_P(HttpTest, WrongMethodIs405WithAllow) {
  auto put = httpRequest(to(), http::verb::put, "/workloads", "{}");
  EXPECT_EQ(put.status, 405u);
  EXPECT_EQ(put.header("allow"), "GET, HEAD, POST");
  EXPECT_EQ(put.header("content-type"), "application/json");
  EXPECT_TRUE(put.json["error"].contains("message"));
  auto post = httpRequest(to(), http::verb::post, "/workloads/web-1", "{}");
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.header("allow"), "GET, HEAD, DELETE");
}

// HEAD answers exactly like GET (status, headers, Content-Length) without a
// body, for answers and errors; the connection stays usable.
TEST_P(HttpTest, HeadAnswersLikeGetWithoutABody) {
  for (const char* target : {"/healthz", "/workloads", "/workloads/web-1", "/no/such/path"}) {
    auto get = httpRequest(to(), http::verb::get, target);
    auto head = httpRequest(to(), http::verb::head, target);
    EXPECT_EQ(head.status, get.status) << target;
    EXPECT_EQ(head.header("content-type"), get.header("content-type")) << target;
    EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size())) << target;
    EXPECT_TRUE(head.body.empty()) << target << ": " << head.body;
  }

  BlockingConnection socket(to());
  beast::flat_buffer buffer;
  http::request<http::empty_body> head_req{http::verb::head, "/healthz", 11};
  head_req.set(http::field::host, "127.0.0.1");
  http::write(socket, head_req);
  http::response_parser<http::string_body> head_parser;
  head_parser.skip(true);
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

TEST_P(HttpTest, BodyOverTheLimitIs413) {
  const std::string body = R"({"image":")" + std::string(1 << 20, 'a') + R"("})";
  auto res = httpRequest(to(), http::verb::post, "/workloads", body);
  EXPECT_EQ(res.status, 413u);
  EXPECT_EQ(res.json["error"]["code"], "ResourceExhausted");
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/healthz").status, 200u);
}

TEST_P(HttpTest, MalformedHttpIs400AndTheServerSurvives) {
  const std::string garbage = rawExchange(to(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  const std::string bad_header = rawExchange(to(), "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_NE(bad_header.find("400"), std::string::npos) << bad_header;
  const std::string huge_header = rawExchange(
      to(), "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'x') + "\r\n\r\n");
  EXPECT_NE(huge_header.find("400"), std::string::npos) << huge_header.substr(0, 200);
  const std::string huge_url =
      rawExchange(to(), "GET /workloads/" + std::string(64 * 1024, 'x') + " HTTP/1.1\r\n\r\n");
  EXPECT_NE(huge_url.find("400"), std::string::npos) << huge_url.substr(0, 200);
  EXPECT_NE(huge_url.find("request line and headers are larger than 16384 bytes"),
            std::string::npos)
      << huge_url.substr(0, 400);
  rawExchange(to(), "POST /workloads HTTP/1.1\r\nContent-Length: 10\r\n\r\n{");
  rawExchange(to(), std::string("\0\xff\xfe\r\n\r\n", 7));
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/healthz").status, 200u);
}

TEST_P(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  BlockingConnection socket(to());
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

class ShortReadTimeoutTest : public HttpTest {
 protected:
  void SetUp() override {
    options_.read_timeout = 200ms;
    HttpTest::SetUp();
  }
};

TEST_P(ShortReadTimeoutTest, IdleConnectionIsClosedAfterTheReadTimeout) {
  BlockingConnection socket(to());
  asio::write(socket, asio::buffer(std::string("GET /hea")));  // and then nothing
  std::string out;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(out), ec);
  EXPECT_TRUE(isEndOfStream(ec)) << ec.message();
  EXPECT_TRUE(out.empty()) << out;
}

TEST_P(ShortReadTimeoutTest, AConnectionThatSendsNothingIsClosedAfterTheReadTimeout) {
  // Not even a TLS handshake: the read timeout bounds it too.
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), to().port});
  std::string out;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(out), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_TRUE(out.empty()) << out;
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/healthz").status, 200u);
}

// With the API thread, a request's admission waits for the core; that wait
// does not count against reading the request, so a body sent once the core
// is free again is still read when the core was busy for longer than the
// read timeout. (Only with the API thread: on one thread a busy core delays
// the header's read as well.)
class BusyCoreTest : public HttpTest {
 protected:
  void SetUp() override {
    options_.read_timeout = 400ms;
    HttpTest::SetUp();
  }
};

TEST_P(BusyCoreTest, AWaitForTheCoreDoesNotCountAgainstReadingTheBody) {
  std::promise<void> busy;
  std::promise<void> idle;
  asio::post(io_, [&busy, &idle] {
    busy.set_value();
    std::this_thread::sleep_for(1s);  // the core, busy for 2.5 read timeouts
    idle.set_value();
  });
  busy.get_future().wait();
  BlockingConnection socket(to());
  asio::write(socket,
              asio::buffer(std::string(
                  "POST /workloads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 7\r\n\r\n")));
  // The body comes after the admission (100 ms for the hop back), into a
  // read that starts without it: a read that begins with its data there
  // completes before any deadline is looked at. 300 ms of the read timeout
  // are left for the body to arrive.
  idle.get_future().wait();
  std::this_thread::sleep_for(100ms);
  asio::write(socket, asio::buffer(std::string(R"({"a":1})")));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::system::error_code ec;
  http::read(socket, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 201u);
  EXPECT_EQ(nlohmann::json::parse(res.body())["echo"], R"({"a":1})");
}

TEST_P(HttpTest, ExpectContinueIsHonoured) {
  BlockingConnection socket(to());
  http::request<http::string_body> req{http::verb::post, "/workloads", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::expect, "100-continue");
  req.body() = R"({"id":"web-1"})";
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
  EXPECT_EQ(nlohmann::json::parse(res.body())["echo"], R"({"id":"web-1"})");
}

TEST_P(HttpTest, StreamedBodyIsChunkedAndEndsTheConnection) {
  push("one\n");
  push("two\n");
  finish();
  // A client that half-closes counts as gone (as the end of its stream), so
  // this one keeps its side open.
  const std::string raw = rawExchange(to(), "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", true);
  EXPECT_NE(raw.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Type: application/x-ndjson\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Test: 1\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("Content-Length"), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n4\r\none\n\r\n4\r\ntwo\n\r\n0\r\n\r\n")) << raw;
  EXPECT_TRUE(producerReturned());
}

TEST_P(HttpTest, StreamedBodyArrivesAsItIsWritten) {
  StreamingRequest request(to(), "/stream");
  EXPECT_EQ(request.status(), 200u);
  EXPECT_EQ(request.header("Content-Type"), "application/x-ndjson");
  push("first\n");
  EXPECT_EQ(request.readLine(), "first");
  push("sec");
  push("ond\nthird\n");
  EXPECT_EQ(request.readLine(), "second");
  EXPECT_EQ(request.readLine(), "third");
  finish();
  EXPECT_EQ(request.readLine(), std::nullopt);
  EXPECT_TRUE(request.complete());
  EXPECT_TRUE(producerReturned());
  EXPECT_TRUE(feed_.last_write_ok);
  // The server is still serving.
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/healthz").status, 200u);
}

// Handlers (a request with a body: admission and handler in two hops) and
// producers run on the io_context's thread, whichever thread does the I/O.
TEST_P(HttpTest, HandlersAndProducersRunOnTheCoreThread) {
  const auto core = http_->onExecutor([] { return std::this_thread::get_id(); });
  EXPECT_EQ(httpRequest(to(), http::verb::post, "/thread", "{}").status, 200u);
  EXPECT_EQ(http_->onExecutor([&] { return handler_thread_; }), core);
  StreamingRequest request(to(), "/stream");
  push("first\n");
  EXPECT_EQ(request.readLine(), "first");
  EXPECT_EQ(http_->onExecutor([&] { return feed_.producer_thread; }), core);
  finish();
  EXPECT_EQ(request.readLine(), std::nullopt);
  EXPECT_TRUE(producerReturned());
}

TEST_P(HttpTest, HeadOfAStreamedRouteSendsHeadersOnlyAndNeverProduces) {
  std::weak_ptr<int> held = held_;
  held_.reset();
  auto head = httpRequest(to(), http::verb::head, "/stream");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(head.header("transfer-encoding"), "chunked");
  EXPECT_TRUE(head.body.empty());
  EXPECT_FALSE(http_->onExecutor([&] { return feed_.producer_ran; }));
  // The response, and what its producer held, are gone: at once on one
  // executor; with the API thread once the producer's release has hopped
  // to the core, which may come after the client has the headers (a hang
  // guard of 10 s, not a timing check).
  for (int i = 0; i < 1000 && !held.expired(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(held.expired());
}

TEST_P(HttpTest, ClientLeavingClosesTheStreamAndWakesTheProducer) {
  {
    StreamingRequest request(to(), "/stream");
    push("hello\n");
    EXPECT_EQ(request.readLine(), "hello");
    request.close();
  }
  // The producer waits for chunks that never come: only the close wakes it.
  EXPECT_TRUE(producerReturned());
  EXPECT_TRUE(http_->onExecutor([&] { return feed_.close_seen; }));
}

TEST_P(HttpTest, StopEndsOpenStreams) {
  StreamingRequest request(to(), "/stream");
  push("hello\n");
  EXPECT_EQ(request.readLine(), "hello");
  http_->stopAndJoin();  // returns only once every coroutine has ended
  EXPECT_TRUE(producerReturned());
  EXPECT_TRUE(feed_.close_seen);
  EXPECT_EQ(request.readLine(), std::nullopt);
  EXPECT_FALSE(request.complete());
}

class ShortWriteTimeoutTest : public HttpTest {
 protected:
  void SetUp() override {
    options_.write_timeout = 100ms;
    HttpTest::SetUp();
  }
};

TEST_P(ShortWriteTimeoutTest, AClientThatStopsReadingHitsTheWriteDeadline) {
  StreamingRequest request(to(), "/stream");  // and never reads the body
  // Far more than the socket buffers hold: some write has to wait, and fails.
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 64; ++i) push(big);
  EXPECT_TRUE(producerReturned());
  EXPECT_FALSE(feed_.last_write_ok);
  EXPECT_TRUE(feed_.close_seen);
}

// A producer whose first write comes before it ever waits (a watch's
// snapshot) must not hand that write's deadline to the connection's
// background read: the stream stays open, and keeps delivering, long after
// several write deadlines have passed.
TEST_P(ShortWriteTimeoutTest, AStreamOutlivesManyWriteDeadlinesWhileItsClientReads) {
  push("snapshot\n");  // written as soon as the producer runs
  StreamingRequest request(to(), "/stream");
  ASSERT_EQ(request.status(), 200u);
  EXPECT_EQ(request.readLine(), "snapshot");
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(3 * options_.write_timeout);  // three deadlines, idle
    push("event-" + std::to_string(i) + "\n");
    EXPECT_EQ(request.readLine(), "event-" + std::to_string(i)) << "the stream was cut off";
  }
  EXPECT_FALSE(http_->onExecutor([&] { return feed_.close_seen; }));
  finish();
  EXPECT_EQ(request.readLine(), std::nullopt);
  EXPECT_TRUE(request.complete());
  EXPECT_TRUE(producerReturned());
  EXPECT_TRUE(feed_.last_write_ok);
}

TEST_P(HttpTest, Http10ClientGetsABodyEndedByTheConnection) {
  push("one\n");
  finish();
  const std::string raw = rawExchange(to(), "GET /stream HTTP/1.0\r\n\r\n", true);
  EXPECT_TRUE(raw.starts_with("HTTP/1.0 200 OK\r\n")) << raw;
  EXPECT_EQ(raw.find("chunked"), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\none\n")) << raw;
}

TEST_P(HttpTest, AbortLeavesTheBodyIncomplete) {
  push("partial\n");
  http_->onExecutor([&] {
    feed_.abort = true;
    feed_.changed.notify();
  });
  StreamingRequest request(to(), "/stream");
  EXPECT_EQ(request.readLine(), "partial");
  EXPECT_EQ(request.readLine(), std::nullopt);
  EXPECT_FALSE(request.complete());
}

// Debug logs name each request by its path, without the query and with
// anything shaped like a token cut to its public id.
TEST_P(HttpTest, RequestLogsLeaveTokensAndQueriesOut) {
  auto logger = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  logger->sinks().push_back(sink);
  const auto level = logger->level();
  logger->set_level(spdlog::level::debug);
  const std::string secret = std::string(42, 'S') + "A";
  httpRequest(to(), http::verb::get, "/workloads/zp_0123456789ab." + secret + "?token=" + secret);
  finish();
  httpRequest(to(), http::verb::get, "/stream?token=" + secret);
  // The server logs once the answer is written, after the client read it.
  http_->stopAndJoin();
  logger->set_level(level);
  logger->sinks().pop_back();
  const auto lines = sink->last_formatted();
  std::string all;
  for (const auto& line : lines) all += line;
  EXPECT_NE(all.find("GET /workloads/zp_0123456789ab.<redacted> -> 200"), std::string::npos) << all;
  EXPECT_NE(all.find("GET /stream -> 200"), std::string::npos) << all;
  EXPECT_EQ(all.find(secret), std::string::npos) << all;
  EXPECT_EQ(all.find("token="), std::string::npos) << all;
}

// Whether a new connection from `from` is served: GET /healthz on it answers
// 200. A connection the server closes at once fails the TLS handshake or
// the read, and is not.
bool served(const HttpTarget& to, const std::string& from) {
  try {
    BlockingConnection socket(to, from);
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(false);
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res.result_int() == 200;
  } catch (const std::exception&) {
    return false;
  }
}

// Polls `done` until it holds; false after a hang guard of 10 s.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

class ConnectionCapTest : public HttpTest {
 protected:
  void SetUp() override {
    options_.max_connections = 3;
    options_.max_connections_per_source = 2;
    HttpTest::SetUp();
  }
};

TEST_P(ConnectionCapTest, ConnectionsBeyondTheCapsAreClosedAtOnce) {
  // Two idle connections from 127.0.0.1 fill its share.
  auto first = std::make_unique<BlockingConnection>(to(), "127.0.0.1");
  BlockingConnection second(to(), "127.0.0.1");
  EXPECT_FALSE(served(to(), "127.0.0.1"));
  // Another source still gets in, until the total is reached.
  BlockingConnection third(to(), "127.0.0.2");
  EXPECT_FALSE(served(to(), "127.0.0.3"));
  EXPECT_FALSE(served(to(), "127.0.0.1"));
  // The connections that got in are served.
  http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(second, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(second, buffer, res);
  EXPECT_EQ(res.result_int(), 200u);
  // A connection that ends gives its slot back.
  first.reset();
  EXPECT_TRUE(eventually([&] { return served(to(), "127.0.0.1"); }));
}

// Tests of one transport only: HTTPS (HttpsTest) or plain HTTP (PlainHttpTest).
class HttpsTest : public HttpTest {};
class PlainHttpTest : public HttpTest {};

TEST_P(HttpsTest, APlainHttpRequestToTheHttpsPortIsRefusedAndTheServerKeepsServing) {
  const std::string raw =
      rawExchange(HttpTarget(to().port), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(raw.find("HTTP/1.1"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("ok"), std::string::npos) << raw;
  EXPECT_ANY_THROW(httpRequest(HttpTarget(to().port), http::verb::get, "/healthz"));
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/healthz").status, 200u);
}

TEST_P(PlainHttpTest, AnHttpsClientGetsNothingFromAPlainHttpServer) {
  TestTls tls(std::filesystem::temp_directory_path() /
              ("zp-http-client-" + std::to_string(::getpid())));
  EXPECT_ANY_THROW(httpRequest(HttpTarget(to().port, tls.client), http::verb::get, "/healthz"));
  EXPECT_EQ(httpRequest(to(), http::verb::get, "/healthz").status, 200u);
  std::filesystem::remove_all(tls.pki.dir);
}

const auto kModes =
    ::testing::Values(Mode{false, false}, Mode{true, false}, Mode{false, true}, Mode{true, true});
std::string modeName(const ::testing::TestParamInfo<Mode>& info) {
  return std::string(info.param.https ? "Https" : "Http") +
         (info.param.api_thread ? "ApiThread" : "");
}
INSTANTIATE_TEST_SUITE_P(Modes, HttpTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Modes, ShortReadTimeoutTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Modes, ShortWriteTimeoutTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Modes, ConnectionCapTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Modes, BusyCoreTest,
                         ::testing::Values(Mode{false, true}, Mode{true, true}), modeName);
INSTANTIATE_TEST_SUITE_P(Modes, HttpsTest, ::testing::Values(Mode{true, false}, Mode{true, true}),
                         modeName);
INSTANTIATE_TEST_SUITE_P(Modes, PlainHttpTest,
                         ::testing::Values(Mode{false, false}, Mode{false, true}), modeName);

}  // namespace
}  // namespace zp::server::testing
