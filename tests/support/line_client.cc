#include "support/line_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

#include "tls/tls_context.h"

namespace zp::testsupport {
namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string sslErrorText() {
  const unsigned long code = ::ERR_get_error();
  ::ERR_clear_error();
  if (code == 0) return "connection closed";
  char text[256];
  ::ERR_error_string_n(code, text, sizeof text);
  return text;
}

// Waits until `fd` is ready for `events`: ok, or kDeadlineExceeded.
Status waitReady(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail(Code::kInternal, errnoText("poll"));
    if (r == 0) return fail(Code::kDeadlineExceeded, "timed out");
    return ok();
  }
}

// After SSL_connect/read/write returned `r` <= 0: waits as OpenSSL asks
// (ok: try again), or the failure.
Status sslWait(SSL* ssl, int fd, int r, Clock::time_point deadline, const char* what) {
  const int error = ::SSL_get_error(ssl, r);
  if (error == SSL_ERROR_WANT_READ) return waitReady(fd, POLLIN, deadline);
  if (error == SSL_ERROR_WANT_WRITE) return waitReady(fd, POLLOUT, deadline);
  if (error == SSL_ERROR_ZERO_RETURN) return fail(Code::kUnavailable, "connection closed by the agent");
  if (error == SSL_ERROR_SYSCALL) {
    ::ERR_clear_error();
    return fail(Code::kUnavailable, std::string(what) + ": connection closed by the agent (" +
                                        (errno != 0 ? std::strerror(errno) : "end of stream") + ")");
  }
  return fail(Code::kUnavailable,
              std::string(what) + ": connection closed by the agent (" + sslErrorText() + ")");
}

}  // namespace

Result<LineClient> LineClient::connect(unsigned short port, const LineClientTls* tls,
                                       std::chrono::milliseconds timeout) {
  // OpenSSL writes with write(2): a peer that went away must not kill the test.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  const auto deadline = Clock::now() + timeout;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Code::kInternal, errnoText("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const auto e = errnoText("connect");
    ::close(fd);
    return fail(Code::kUnavailable, e);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (tls == nullptr) return LineClient(fd);

  SSL* ssl = ::SSL_new(tls->context->native_handle());
  if (ssl == nullptr || ::SSL_set_fd(ssl, fd) != 1) {
    if (ssl != nullptr) ::SSL_free(ssl);
    ::close(fd);
    return fail(Code::kInternal, "SSL_new: " + sslErrorText());
  }
  LineClient client(fd, ssl, tls->context);  // owns both from here
  while (true) {
    const int r = ::SSL_connect(ssl);
    if (r == 1) break;
    if (auto s = sslWait(ssl, fd, r, deadline, "TLS handshake"); !s) return fail(s.error());
  }
  if (tls->expect_peer) {
    if (auto s = tls::requirePeer(ssl, *tls->expect_peer); !s) return fail(s.error());
  }
  return client;
}

LineClient::LineClient(LineClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      context_(std::move(other.context_)),
      buffer_(std::move(other.buffer_)),
      next_req_(other.next_req_) {}

LineClient& LineClient::operator=(LineClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    ssl_ = std::exchange(other.ssl_, nullptr);
    context_ = std::move(other.context_);
    buffer_ = std::move(other.buffer_);
    next_req_ = other.next_req_;
  }
  return *this;
}

LineClient::~LineClient() { close(); }

void LineClient::close() {
  if (ssl_ != nullptr) ::SSL_free(ssl_);
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status LineClient::sendRaw(std::string_view bytes) {
  if (fd_ < 0) return fail(Code::kUnavailable, "not connected");
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!bytes.empty()) {
    if (ssl_ != nullptr) {
      const int n = ::SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (auto s = sslWait(ssl_, fd_, n, deadline, "send"); !s) return s;
      continue;
    }
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto s = waitReady(fd_, POLLOUT, deadline); !s) return s;
    } else if (errno != EINTR) {
      return fail(Code::kUnavailable, errnoText("send"));
    }
  }
  return ok();
}

Status LineClient::send(const Json& message) { return sendRaw(message.dump() + "\n"); }

Status LineClient::fill(Clock::time_point deadline) {
  char buf[64 * 1024];
  while (true) {
    if (ssl_ != nullptr) {
      const int n = ::SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        buffer_.append(buf, static_cast<std::size_t>(n));
        return ok();
      }
      if (auto s = sslWait(ssl_, fd_, n, deadline, "read"); !s) {
        if (s.error().code == Code::kDeadlineExceeded) {
          return fail(Code::kDeadlineExceeded, "no reply line in time");
        }
        return s;
      }
      continue;
    }
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<std::size_t>(n));
      return ok();
    }
    if (n == 0) return fail(Code::kUnavailable, "connection closed by the agent");
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto s = waitReady(fd_, POLLIN, deadline); !s) {
        return fail(s.error().code, s.error().code == Code::kDeadlineExceeded
                                        ? "no reply line in time"
                                        : s.error().message);
      }
    } else if (errno != EINTR) {
      return fail(Code::kUnavailable, errnoText("recv"));
    }
  }
}

Result<std::string> LineClient::readLine(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (fd_ < 0) return fail(Code::kUnavailable, "not connected");
    if (auto s = fill(deadline); !s) return fail(s.error());
  }
}

Result<LineClient::Json> LineClient::readJson(std::chrono::milliseconds timeout) {
  auto line = readLine(timeout);
  if (!line) return fail(line.error());
  auto j = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Code::kInternal, "reply is not a JSON object: " + line->substr(0, 200));
  }
  return j;
}

Result<LineClient::Json> LineClient::call(Json request, std::chrono::milliseconds timeout) {
  const std::string req = "c" + std::to_string(++next_req_);
  request["req"] = req;
  if (auto s = send(request); !s) return fail(s.error());
  auto reply = readJson(timeout);
  if (!reply) return reply;
  if (reply->value("req", "") != req) {
    return fail(Code::kInternal, "reply to another request: " + reply->dump());
  }
  return reply;
}

Status LineClient::hello(const std::string& node_id, bool subscribe) {
  Json request{{"type", "Hello"}, {"node_id", node_id}};
  if (subscribe) request["subscribe"] = true;
  auto reply = call(std::move(request), std::chrono::seconds(60));
  if (!reply) return fail(reply.error());
  if (reply->value("type", "") != "Node" || reply->value("node_id", "") != node_id) {
    return fail(Code::kFailedPrecondition, "Hello refused: " + reply->dump());
  }
  return ok();
}

bool LineClient::waitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto line = readLine(std::chrono::milliseconds(remainingMs(deadline)));
    if (line) continue;
    return line.error().code == Code::kUnavailable;
  }
}

}  // namespace zp::testsupport
