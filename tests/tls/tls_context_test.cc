// Handshakes through Transport with the contexts of tls_context.h: who is
// accepted, who is refused, and what the peer's identity reads.

#include "tls/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <future>

#include "protocol/line_io.h"
#include "support/test_pki.h"
#include "tls/transport.h"
#include "tls/x509_check.h"

namespace zp::tls {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("zp-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    pki_ = testsupport::makeTestPki(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  struct Outcome {
    Status server;                   // the accepting side's handshake (+ identity check)
    Status client;                   // the connecting side's handshake (+ identity check)
    std::optional<Identity> seen_by_server;  // the client's identity, when it had one
  };

  // One connection over loopback: the server side uses `server_ctx` (and then
  // requires `server_requires` when set), the client `client_ctx` (then
  // requires `client_requires`). Both ends exchange a line when both succeed.
  Outcome connect(std::shared_ptr<asio::ssl::context> server_ctx,
                  std::shared_ptr<asio::ssl::context> client_ctx,
                  std::optional<Identity> server_requires,
                  std::optional<Identity> client_requires) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto endpoint = acceptor.local_endpoint();
    Outcome out;
    auto accepting = [&]() -> asio::awaitable<void> {
      tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
      Transport transport = server_ctx ? Transport(std::move(socket), *server_ctx)
                                       : Transport(std::move(socket));
      transport.tcp().expires_after(std::chrono::seconds(10));
      out.server = co_await transport.handshake(Transport::Role::kServer);
      if (out.server && transport.secure()) {
        if (auto id = peerIdentity(transport.ssl())) out.seen_by_server = *id;
        if (server_requires) out.server = requirePeer(transport.ssl(), *server_requires);
      }
      if (out.server) {
        protocol::LineReader<Transport> reader(transport);
        auto line = co_await reader.next();
        if (line) co_await protocol::writeLine(transport, "pong " + *line);
      }
      transport.close();
    };
    auto connecting = [&]() -> asio::awaitable<void> {
      tcp::socket socket(io);
      co_await socket.async_connect(endpoint, asio::use_awaitable);
      Transport transport = client_ctx ? Transport(std::move(socket), *client_ctx)
                                       : Transport(std::move(socket));
      transport.tcp().expires_after(std::chrono::seconds(10));
      out.client = co_await transport.handshake(Transport::Role::kClient);
      if (out.client && client_requires) out.client = requirePeer(transport.ssl(), *client_requires);
      if (out.client) {
        co_await protocol::writeLine(transport, "ping");
        protocol::LineReader<Transport> reader(transport);
        auto line = co_await reader.next();
        if (!line) {
          out.client = fail(line.error());
        } else if (*line != "pong ping") {
          out.client = fail(Code::kInternal, "unexpected reply " + *line);
        }
      }
      transport.close();
    };
    auto a = asio::co_spawn(io, accepting(), asio::use_future);
    auto c = asio::co_spawn(io, connecting(), asio::use_future);
    io.run();
    a.get();
    c.get();
    return out;
  }

  std::shared_ptr<asio::ssl::context> agentSide(const TlsFiles& files) {
    auto ctx = serverContext(files, true, MinVersion::kTls13);
    EXPECT_TRUE(ctx) << ctx.error().toString();
    return ctx ? *ctx : nullptr;
  }
  std::shared_ptr<asio::ssl::context> linkSide(const TlsFiles& files) {
    auto ctx = clientContext(files, MinVersion::kTls13);
    EXPECT_TRUE(ctx) << ctx.error().toString();
    return ctx ? *ctx : nullptr;
  }

  std::filesystem::path dir_;
  testsupport::TestPki pki_;
};

TEST_F(TlsContextTest, MutualTlsBetweenServerAndItsNodeCarriesLines) {
  auto out = connect(agentSide(pki_.node("node-1")), linkSide(pki_.server), Identity::server(),
                     Identity::node("node-1"));
  EXPECT_TRUE(out.server) << out.server.error().toString();
  EXPECT_TRUE(out.client) << out.client.error().toString();
  ASSERT_TRUE(out.seen_by_server);
  EXPECT_EQ(*out.seen_by_server, Identity::server());
}

TEST_F(TlsContextTest, AValidCertificateOfAnotherNodeIsRefusedByIdentity) {
  auto out = connect(agentSide(pki_.node("node-2")), linkSide(pki_.server), Identity::server(),
                     Identity::node("node-1"));
  ASSERT_FALSE(out.client);
  EXPECT_EQ(out.client.error().code, Code::kUnauthenticated);
  EXPECT_NE(out.client.error().message.find("node/node-2"), std::string::npos)
      << out.client.error().message;
}

TEST_F(TlsContextTest, ANodeCertificateCannotActAsTheServer) {
  auto out = connect(agentSide(pki_.node("node-1")), linkSide(pki_.node("node-2")),
                     Identity::server(), Identity::node("node-1"));
  ASSERT_FALSE(out.server);
  EXPECT_EQ(out.server.error().code, Code::kUnauthenticated);
}

TEST_F(TlsContextTest, AClientOfAnotherCaFailsTheHandshake) {
  auto out = connect(agentSide(pki_.node("node-1")), linkSide(pki_.nodeFromOtherCa("intruder")),
                     Identity::server(), std::nullopt);
  EXPECT_FALSE(out.server);
}

TEST_F(TlsContextTest, AClientWithoutCertificateFailsTheHandshake) {
  TlsFiles ca_only{"", "", pki_.ca_cert_path};
  auto out = connect(agentSide(pki_.node("node-1")), linkSide(ca_only), Identity::server(),
                     std::nullopt);
  EXPECT_FALSE(out.server);
}

TEST_F(TlsContextTest, AnExpiredCertificateFailsTheHandshake) {
  auto out = connect(agentSide(pki_.expiredNode("node-1")), linkSide(pki_.server),
                     Identity::server(), Identity::node("node-1"));
  ASSERT_FALSE(out.client);
  EXPECT_EQ(out.client.error().code, Code::kUnauthenticated);
}

TEST_F(TlsContextTest, PlaintextAgainstATlsPortFails) {
  auto out = connect(agentSide(pki_.node("node-1")), nullptr, Identity::server(), std::nullopt);
  EXPECT_FALSE(out.server);
}

TEST_F(TlsContextTest, AMismatchedKeyIsRefusedWhenTheContextIsBuilt) {
  TlsFiles mixed = pki_.node("node-1");
  mixed.key = pki_.node("node-2").key;
  auto ctx = serverContext(mixed, true, MinVersion::kTls13);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message.find("does not belong"), std::string::npos) << ctx.error().message;
}

TEST_F(TlsContextTest, MissingFilesAreNamed) {
  TlsFiles missing{(dir_ / "nope.crt").string(), (dir_ / "nope.key").string(), pki_.ca_cert_path};
  auto ctx = serverContext(missing, true, MinVersion::kTls13);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message.find("nope.crt"), std::string::npos) << ctx.error().message;
}

TEST_F(TlsContextTest, ACertificateNamingTwoIdentitiesSpeaksForNone) {
  // The PKI never issues one; peerIdentity() reads it as inspectCertificate() does.
  auto ca_pem = readFile(pki_.ca_cert_path);
  auto ca_key = readFile((dir_ / "ca.key").string());
  ASSERT_TRUE(ca_pem && ca_key);
  const auto forged = x509check::forgeLeaf(
      *ca_pem, *ca_key, "URI:spiffe://zoneplane/node/node-1,URI:spiffe://zoneplane/server");
  ASSERT_FALSE(forged.cert_pem.empty());
  EXPECT_FALSE(inspectCertificate(forged.cert_pem)->identity.has_value());
  const TlsFiles files{(dir_ / "two.crt").string(), (dir_ / "two.key").string(), pki_.ca_cert_path};
  ASSERT_TRUE(writeFileAtomically(files.cert, forged.cert_pem, 0644));
  ASSERT_TRUE(writeFileAtomically(files.key, forged.key_pem, 0600));

  // Presented by the agent's side: not node-1.
  auto as_node =
      connect(agentSide(files), linkSide(pki_.server), std::nullopt, Identity::node("node-1"));
  ASSERT_FALSE(as_node.client);
  EXPECT_EQ(as_node.client.error().code, Code::kUnauthenticated);
  EXPECT_NE(as_node.client.error().message.find("more than one zoneplane identity"),
            std::string::npos)
      << as_node.client.error().message;
  // Presented by the connecting side: not the server.
  auto as_server =
      connect(agentSide(pki_.node("node-1")), linkSide(files), Identity::server(), std::nullopt);
  ASSERT_FALSE(as_server.server);
  EXPECT_FALSE(as_server.seen_by_server.has_value());
}

// A TLS 1.2 client that offers exactly `cipher` (and only TLS 1.2), verifying nothing.
std::shared_ptr<asio::ssl::context> tls12ClientOffering(const char* cipher) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  EXPECT_EQ(::SSL_CTX_set_max_proto_version(context->native_handle(), TLS1_2_VERSION), 1);
  EXPECT_EQ(::SSL_CTX_set_cipher_list(context->native_handle(), cipher), 1) << cipher;
  context->set_verify_mode(asio::ssl::verify_none);
  return context;
}

TEST_F(TlsContextTest, TheApiOffersTls12OnlyWithForwardSecrecyAndAead) {
  auto api = serverContext(pki_.server, false, MinVersion::kTls12);
  ASSERT_TRUE(api) << api.error().toString();
  // CBC with a SHA-1 MAC: refused.
  auto cbc =
      connect(*api, tls12ClientOffering("ECDHE-ECDSA-AES128-SHA"), std::nullopt, std::nullopt);
  EXPECT_FALSE(cbc.server);
  EXPECT_FALSE(cbc.client);
  // What the suite list keeps: accepted.
  for (const char* cipher : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    auto aead = connect(*api, tls12ClientOffering(cipher), std::nullopt, std::nullopt);
    EXPECT_TRUE(aead.server) << cipher << ": " << aead.server.error().toString();
    EXPECT_TRUE(aead.client) << cipher << ": " << aead.client.error().toString();
  }
}

// The join flow's first contact: nothing trusted during the handshake, then
// the chain is accepted only with the token's CA fingerprint, the host name
// and the server's identity.
class PinnedServerTest : public TlsContextTest {
 protected:
  Result<std::string> pinned(const std::string& fingerprint, const std::string& host) {
    return pinnedAgainst(pki_.server, fingerprint, host);
  }
  // The same against a server presenting `server_files`.
  Result<std::string> pinnedAgainst(const TlsFiles& server_files, const std::string& fingerprint,
                                    const std::string& host) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto server_ctx = serverContext(server_files, false, MinVersion::kTls12);
    auto client_ctx = pinningClientContext();
    EXPECT_TRUE(server_ctx && client_ctx);
    Result<std::string> result = fail(Code::kInternal, "not run");
    auto accepting = [&]() -> asio::awaitable<void> {
      tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
      Transport transport(std::move(socket), **server_ctx);
      co_await transport.handshake(Transport::Role::kServer);
      protocol::LineReader<Transport> reader(transport);
      co_await reader.next();  // until the client closes
    };
    auto connecting = [&]() -> asio::awaitable<void> {
      tcp::socket socket(io);
      co_await socket.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
      Transport transport(std::move(socket), **client_ctx);
      if (auto s = co_await transport.handshake(Transport::Role::kClient); !s) {
        result = fail(s.error());
      } else {
        result = verifyPinnedServer(transport.ssl(), fingerprint, host);
      }
      transport.close();
    };
    auto a = asio::co_spawn(io, accepting(), asio::use_future);
    auto c = asio::co_spawn(io, connecting(), asio::use_future);
    io.run();
    a.get();
    c.get();
    return result;
  }
};

TEST_F(PinnedServerTest, TheRightFingerprintAndHostGiveTheCa) {
  auto ca_pem = readFile(pki_.ca_cert_path);
  ASSERT_TRUE(ca_pem);
  auto fp = fingerprint(*ca_pem);
  ASSERT_TRUE(fp);
  auto got = pinned(*fp, "127.0.0.1");
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_EQ(fingerprint(*got).value_or(""), *fp);
  std::string upper = *fp;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(pinned(upper, "localhost"));
}

TEST_F(PinnedServerTest, AnotherFingerprintIsRefused) {
  auto got = pinned(std::string(64, 'a'), "127.0.0.1");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Code::kUnauthenticated);
}

TEST_F(PinnedServerTest, AHostTheCertificateDoesNotNameIsRefused) {
  auto ca_pem = readFile(pki_.ca_cert_path);
  ASSERT_TRUE(ca_pem);
  auto got = pinned(fingerprint(*ca_pem).value_or(""), "evil.example.com");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Code::kUnauthenticated);
}

TEST_F(PinnedServerTest, ANodeCertificateOfTheClusterIsNotTheServer) {
  // Of the pinned CA and naming the host (127.0.0.1, localhost): only its
  // identity tells it from the server's.
  auto ca_pem = readFile(pki_.ca_cert_path);
  ASSERT_TRUE(ca_pem);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto got =
        pinnedAgainst(pki_.nodeNamingLocalhost("node-1"), fingerprint(*ca_pem).value_or(""), host);
    ASSERT_FALSE(got) << host;
    EXPECT_EQ(got.error().code, Code::kUnauthenticated);
    EXPECT_NE(got.error().message.find("node/node-1"), std::string::npos) << got.error().message;
    EXPECT_NE(got.error().message.find("not the server's"), std::string::npos)
        << got.error().message;
  }
}

}  // namespace
}  // namespace zp::tls
