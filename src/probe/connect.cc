#include "probe/connect.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "probe/files.h"

namespace zp::probe {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<ConnectTarget> refuse(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return std::nullopt;
}

std::string resultOf(int err) {
  switch (err) {
    case 0:
      return "connected";
    case ECONNREFUSED:
      return "refused";
    case ETIMEDOUT:
      return "timeout";
    case ENETUNREACH:
    case EHOSTUNREACH:
      return "unreachable";
    default:
      return "error: " + errorText(err);
  }
}

// One connect in flight.
struct Attempt {
  int fd = -1;
  bool done = false;
  ConnectResult result;
  Clock::time_point started;
};

void finish(Attempt& a, std::string result) {
  a.result.result = std::move(result);
  a.result.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - a.started).count();
  a.done = true;
  if (a.fd >= 0) {
    ::close(a.fd);
    a.fd = -1;
  }
}

// Starts a non-blocking connect; finishes `a` at once when it cannot go on.
void start(Attempt& a, const ConnectTarget& t) {
  a.started = Clock::now();
  a.result.target = t.text;
  sockaddr_storage address{};
  socklen_t length = 0;
  if (t.family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    in->sin_family = AF_INET;
    in->sin_port = htons(t.port);
    if (::inet_pton(AF_INET, t.host.c_str(), &in->sin_addr) != 1)
      return finish(a, "error: bad address");
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(t.port);
    if (::inet_pton(AF_INET6, t.host.c_str(), &in6->sin6_addr) != 1) {
      return finish(a, "error: bad address");
    }
    length = sizeof(sockaddr_in6);
  }
  a.fd = ::socket(t.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (a.fd < 0) return finish(a, resultOf(errno));
  if (::connect(a.fd, reinterpret_cast<sockaddr*>(&address), length) == 0) {
    return finish(a, "connected");
  }
  if (errno != EINPROGRESS) return finish(a, resultOf(errno));
}

}  // namespace

std::optional<ConnectTarget> parseConnectTarget(std::string_view text, std::string* why) {
  if (text.empty() || text.size() > 64) return refuse(why, "must be HOST:PORT of at most 64 bytes");
  ConnectTarget t;
  t.text = std::string(text);
  std::string_view host, port;
  if (text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return refuse(why, "an IPv6 host must be bracketed: [ADDR]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    t.family = AF_INET6;
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return refuse(why, "missing :PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return refuse(why, "an IPv6 host must be bracketed: [ADDR]:PORT");
    }
    t.family = AF_INET;
  }
  t.host = std::string(host);
  unsigned char buffer[sizeof(in6_addr)];
  if (host.empty() || ::inet_pton(t.family, t.host.c_str(), buffer) != 1) {
    return refuse(why, "the host must be a numeric IPv4 or IPv6 address");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return refuse(why, "the port must be a number from 1 to 65535");
  }
  t.port = static_cast<std::uint16_t>(value);
  return t;
}

std::vector<ConnectResult> connectAll(const std::vector<ConnectTarget>& targets,
                                      std::chrono::milliseconds timeout) {
  std::vector<Attempt> attempts(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) start(attempts[i], targets[i]);
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      if (attempts[i].done) continue;
      fds.push_back(pollfd{attempts[i].fd, POLLOUT, 0});
      index.push_back(i);
    }
    if (fds.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      for (std::size_t i : index) finish(attempts[i], "timeout");
      break;
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()) + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string failure = "error: poll: " + errorText(errno);
      for (std::size_t i : index) finish(attempts[i], failure);
      break;
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      int err = 0;
      socklen_t length = sizeof(err);
      if (::getsockopt(fds[k].fd, SOL_SOCKET, SO_ERROR, &err, &length) != 0) err = errno;
      finish(attempts[index[k]], resultOf(err));
    }
  }
  std::vector<ConnectResult> results;
  results.reserve(attempts.size());
  for (auto& a : attempts) results.push_back(std::move(a.result));
  return results;
}

}  // namespace zp::probe
