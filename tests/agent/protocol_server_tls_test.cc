// The agent's protocol port with mutual TLS (docs/architecture.md §9.2):
// only the server's identity from the cluster CA is served; other CAs, other
// identities, expired certificates, plaintext and stalled handshakes are
// closed before a line is read; and a flood of idle and half-open
// connections never locks the server's subscribed connection out.

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "captured_log.h"
#include "tls/pki.h"
#include "tls_server_fixture.h"

namespace zp::agent {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// What a refused client sees: no reply to its Hello, then the end of the
// connection. `c` is what connect returned (a TLS 1.3 client may finish its
// side of the handshake before the agent refuses its certificate).
void expectRefused(Result<LineClient>& c) {
  if (!c) {
    EXPECT_EQ(c.error().code, Code::kUnavailable) << c.error().toString();
    return;
  }
  (void)c->send(Json{{"type", "Hello"}, {"node_id", "node-1"}, {"req", "h"}});
  auto line = c->readLine(30s);
  ASSERT_FALSE(line.has_value()) << "the agent answered: " << *line;
  EXPECT_EQ(line.error().code, Code::kUnavailable) << line.error().toString();
}

TEST_F(TlsServerTest, TheServerIdentityIsServed) {
  ASSERT_NO_FATAL_FAILURE(startTlsServer());
  auto server = connectAsServer();
  ASSERT_TRUE(server.secure());
  ASSERT_TRUE(server.hello("node-1", /*subscribe=*/true).has_value());
  auto node = server.call(Json{{"type", "NodeInfo"}});
  ASSERT_TRUE(node.has_value()) << node.error().toString();
  EXPECT_EQ(node->value("node_id", ""), "node-1") << node->dump();
}

TEST_F(TlsServerTest, ACertificateOfAnotherCaIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startTlsServer());
  testsupport::TempDir other_dir("zp-other-ca");
  const auto other = testsupport::makeTestPki(other_dir.path());  // a server identity, wrong CA
  auto c = connectAs(other.server);
  expectRefused(c);
  // The right one still works.
  auto server = connectAsServer();
  EXPECT_TRUE(server.hello("node-1").has_value());
}

TEST_F(TlsServerTest, ANodeOrClientCertificateIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startTlsServer());
  for (const auto& files : {pki_.node("node-1"), pki_.node("node-2"), pki_.client("ops")}) {
    SCOPED_TRACE(files.cert);
    auto c = connectAs(files);
    expectRefused(c);
  }
}

using testing::CapturedLog;

TEST_F(TlsServerTest, RefusedPeersDoNotFloodTheLog) {
  CapturedLog log;
  ASSERT_NO_FATAL_FAILURE(startTlsServer());
  testsupport::TempDir other_dir("zp-other-ca");
  const auto other = testsupport::makeTestPki(other_dir.path());
  constexpr int kAttempts = 4;
  for (int i = 0; i < kAttempts; ++i) {
    for (const auto& files : {pki_.node("node-2"), other.server}) {  // identity, then chain
      auto c = connectAs(files);
      expectRefused(c);
    }
  }
  // One line per 10 s for all of them (two if the loop took that long).
  const std::size_t lines = log.count("refusing");
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 2u) << "every refused peer was logged";
  // The server's own connections are unaffected.
  auto server = connectAsServer();
  EXPECT_TRUE(server.hello("node-1").has_value());
}

TEST_F(TlsServerTest, AnExpiredServerCertificateIsRefused) {
  ASSERT_NO_FATAL_FAILURE(startTlsServer());
  auto ca = tls::CertificateAuthority::load(pki_.dir.string());
  ASSERT_TRUE(ca.has_value()) << ca.error().toString();
  auto key = tls::PrivateKey::generate(tls::KeyType::kEcP256);
  ASSERT_TRUE(key.has_value()) << key.error().toString();
  tls::CertProfile profile{.identity = tls::Identity::server()};
  profile.not_before = std::chrono::system_clock::now() - 48h;
  profile.validity = 24h;  // ended a day ago
  auto cert = ca->issue(*key, profile);
  ASSERT_TRUE(cert.has_value()) << cert.error().toString();
  const tls::TlsFiles expired{tmp_.file("expired-server.crt"), tmp_.file("expired-server.key"),
                              pki_.ca_cert_path};
  ASSERT_TRUE(tls::writeFileAtomically(expired.cert, *cert, 0644).has_value());
  ASSERT_TRUE(tls::writeFileAtomically(expired.key, key->pem(), 0600).has_value());
  auto c = connectAs(expired);
  expectRefused(c);
}

TEST_F(TlsServerTest, APlaintextClientGetsNoReplyAndIsClosed) {
  ASSERT_NO_FATAL_FAILURE(startTlsServer());
  auto plain = connectPlain();
  ASSERT_TRUE(plain.send(Json{{"type", "Hello"}, {"node_id", "node-1"}, {"req", "h"}}).has_value());
  // Whatever comes back (a TLS alert at most) is no protocol reply.
  while (true) {
    auto line = plain.readLine(30s);
    if (!line) {
      EXPECT_EQ(line.error().code, Code::kUnavailable) << line.error().toString();
      break;
    }
    EXPECT_EQ(line->find("Node"), std::string::npos) << *line;
  }
}

// A connection that starts the TLS handshake and never finishes it (its
// ClientHello is sent, what the agent answers is never read): half-open from
// the agent's side. The ClientHello is made in memory, so the handshake
// cannot go further however fast the agent answers.
class HalfOpenHandshake {
 public:
  HalfOpenHandshake(unsigned short port, SSL_CTX* context) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    SSL* ssl = ::SSL_new(context);
    if (ssl == nullptr) return;
    ::SSL_set_bio(ssl, ::BIO_new(::BIO_s_mem()), ::BIO_new(::BIO_s_mem()));  // owned by ssl
    (void)::SSL_connect(ssl);  // writes the ClientHello, then wants to read
    char* hello = nullptr;
    const long size = ::BIO_get_mem_data(::SSL_get_wbio(ssl), &hello);
    started_ = size > 0 && ::send(fd_, hello, static_cast<std::size_t>(size), MSG_NOSIGNAL) == size;
    ::SSL_free(ssl);
  }
  ~HalfOpenHandshake() {
    if (fd_ >= 0) ::close(fd_);
  }
  HalfOpenHandshake(const HalfOpenHandshake&) = delete;
  HalfOpenHandshake& operator=(const HalfOpenHandshake&) = delete;

  bool started() const { return started_; }
  // Whether the agent closed it (without waiting). Discards what the agent
  // sent (its part of the handshake).
  bool closed() const {
    char buf[16 * 1024];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
  }

 private:
  int fd_ = -1;
  bool started_ = false;
};

TEST_F(TlsServerTest, AStalledHandshakeIsClosedAtTheHandshakeTimeout) {
  ServerLimits limits;
  limits.handshake_timeout = 200ms;
  limits.idle_timeout = 10min;  // so only the handshake timeout can close them
  ASSERT_NO_FATAL_FAILURE(startTlsServer(limits));
  auto silent = connectPlain();
  auto untrusted = tls::clientContext({"", "", pki_.ca_cert_path}, tls::MinVersion::kTls13);
  ASSERT_TRUE(untrusted.has_value()) << untrusted.error().toString();
  HalfOpenHandshake half(port_, (*untrusted)->native_handle());
  ASSERT_TRUE(half.started());
  EXPECT_TRUE(silent.waitClosed(30s)) << "a connection that sent nothing stayed open";
  EXPECT_TRUE(testing::eventually([&] { return half.closed(); }))
      << "a half-open handshake stayed open";
  // A handshake that completes in time is not affected.
  auto server = connectAsServer();
  EXPECT_TRUE(server.hello("node-1").has_value());
}

// Raises the soft limit on open files to at least `want` (false if the hard
// limit does not allow it).
bool raiseOpenFiles(rlim_t want) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= want) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < want) return false;
  limit.rlim_cur = want;
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// The flood of docs/architecture.md §9.2: more idle TCP connections than the
// agent keeps plus half-open handshakes from an untrusted client; the
// server's subscribed connection still gets in and is answered, the flood
// still held, because the connections idle longest make room.
TEST_F(TlsServerTest, AFloodOfIdleAndHalfOpenConnectionsNeverLocksTheServerOut) {
  constexpr int kIdle = 1030;
  constexpr int kHalfOpen = 20;
  // Both ends of every connection live in this process.
  ASSERT_TRUE(raiseOpenFiles(2 * (kIdle + kHalfOpen) + 512)) << "RLIMIT_NOFILE too low";
  ServerLimits limits;  // the default caps: 1024 + 8 subscriber slots
  limits.handshake_timeout = 10min;  // room is made by eviction, not by timeouts
  ASSERT_NO_FATAL_FAILURE(startTlsServer(limits));
  const std::size_t cap = limits.max_connections + limits.subscriber_reserve;

  std::vector<LineClient> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) {
    auto c = LineClient::connect(port_);
    ASSERT_TRUE(c.has_value()) << "connection " << i << ": " << c.error().toString();
    idle.push_back(std::move(*c));
  }
  testsupport::TempDir other_dir("zp-flood-ca");
  const auto other = testsupport::makeTestPki(other_dir.path());
  auto untrusted = tls::clientContext({other.server.cert, other.server.key, other.ca_cert_path},
                                      tls::MinVersion::kTls13);
  ASSERT_TRUE(untrusted.has_value()) << untrusted.error().toString();
  std::vector<std::unique_ptr<HalfOpenHandshake>> half_open;
  for (int i = 0; i < kHalfOpen; ++i) {
    half_open.push_back(std::make_unique<HalfOpenHandshake>(port_, (*untrusted)->native_handle()));
    ASSERT_TRUE(half_open.back()->started()) << "half-open handshake " << i;
  }

  auto server = connectAsServer();
  ASSERT_TRUE(server.hello("node-1", /*subscribe=*/true).has_value());
  auto node = server.call(Json{{"type", "NodeInfo"}}, 60s);
  ASSERT_TRUE(node.has_value()) << node.error().toString();
  EXPECT_EQ(node->value("type", ""), "Node") << node->dump();

  // The oldest idle connections made the room; the rest of the flood is still held.
  std::size_t closed = 0;
  for (auto& c : idle) closed += closedNow(c) ? 1 : 0;
  for (auto& h : half_open) closed += h->closed() ? 1 : 0;
  const std::size_t opened = kIdle + kHalfOpen + 1;
  EXPECT_GE(closed, opened - cap);
  EXPECT_LT(closed, static_cast<std::size_t>(kIdle));  // not everything was dropped
  EXPECT_TRUE(closedNow(idle.front())) << "the first (idle longest) was not the one closed";
  EXPECT_FALSE(closedNow(idle.back()));
  EXPECT_FALSE(half_open.back()->closed());
  // The subscription works: a status change is pushed.
  api::WorkloadStatus status;
  status.id = "w";
  server_->publish(status);
  auto push = server.readJson(30s);
  ASSERT_TRUE(push.has_value()) << push.error().toString();
  EXPECT_EQ(push->value("type", ""), "WorkloadEvent") << push->dump();

  // A second connection of the server that does not subscribe (a log stream)
  // is not held back by strangers either: they are never greeted, so they
  // neither count against it nor outlast it.
  auto logs = connectAsServer();
  auto greeted = logs.hello("node-1", /*subscribe=*/false);
  ASSERT_TRUE(greeted.has_value()) << greeted.error().toString();
  auto again = logs.call(Json{{"type", "NodeInfo"}}, 60s);
  ASSERT_TRUE(again.has_value()) << again.error().toString();
  EXPECT_EQ(again->value("type", ""), "Node") << again->dump();
}

}  // namespace
}  // namespace zp::agent
