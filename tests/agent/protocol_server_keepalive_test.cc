// The agent's accepted connections carry TCP keepalive: a peer that vanished
// without closing (a partition that outlasted its FIN, a host that lost
// power) leaves a half-open connection that nothing else ends, since a
// subscriber is never closed for being idle. Checked on the server's own end
// of a connection (this process's socket, found through /proc/self/fd).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <optional>

#include "protocol_server_fixture.h"

namespace zp::agent {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The fd of this process's TCP socket whose local port is `local` and whose
// peer's port is `peer`; nullopt if there is none.
std::optional<int> socketFd(unsigned short local, unsigned short peer) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (...) {
      continue;
    }
    sockaddr_in self{}, other{};
    socklen_t len = sizeof self;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) != 0 ||
        self.sin_family != AF_INET) {
      continue;
    }
    len = sizeof other;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&other), &len) != 0) continue;
    if (ntohs(self.sin_port) == local && ntohs(other.sin_port) == peer) return fd;
  }
  return std::nullopt;
}

int intOption(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) != 0) return -1;
  return value;
}

using KeepaliveTest = ProtocolServerTest;

TEST_F(KeepaliveTest, AnAcceptedConnectionProbesItsPeerOnceSilent) {
  startServer();
  asio::io_context client_io;
  tcp::socket client(client_io);
  client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  const unsigned short client_port = client.local_endpoint().port();
  // The server's thread sets the options just after its accept, so the
  // socket can be seen here a moment before they are set: wait for the last.
  std::optional<int> fd;
  ASSERT_TRUE(testing::eventually([&] {
    fd = socketFd(port_, client_port);
    return fd.has_value() && intOption(*fd, IPPROTO_TCP, TCP_KEEPCNT) == 3;
  })) << (fd ? "the options were not set" : "no server end of the connection");
  EXPECT_EQ(intOption(*fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(intOption(*fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
  EXPECT_EQ(intOption(*fd, IPPROTO_TCP, TCP_KEEPINTVL), 10);
  EXPECT_EQ(intOption(*fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
}

}  // namespace
}  // namespace zp::agent
