#include "silent_registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace zp::agent_it {

bool SilentRegistry::start(std::string greeting) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listener_, 64) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return false;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this, greeting = std::move(greeting)] {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (!greeting.empty()) {
        // Answer only once the client has sent its request: bytes that come
        // before it make an HTTP client report an unsolicited response
        // instead of a malformed one.
        pollfd request{fd, POLLIN, 0};
        if (poll(&request, 1, 5000) > 0) {
          (void)::send(fd, greeting.data(), greeting.size(), MSG_NOSIGNAL);
        }
      }
      std::lock_guard lock(mutex_);
      accepted_.push_back(fd);
    }
  });
  return true;
}

void SilentRegistry::close() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  for (const int fd : accepted_) ::close(fd);
  if (listener_ >= 0) ::close(listener_);
  listener_ = -1;
  closed_ += accepted_.size();
  accepted_.clear();
}

std::size_t SilentRegistry::accepted() {
  std::lock_guard lock(mutex_);
  return accepted_.size() + closed_;
}

std::size_t SilentRegistry::closedByPeer() {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const int fd : accepted_) {
    // The peer shut its side down (FIN) or reset the connection.
    pollfd p{fd, POLLRDHUP, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) ++n;
  }
  return n;
}

}  // namespace zp::agent_it
