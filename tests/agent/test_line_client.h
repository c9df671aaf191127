#pragma once
// Client: a blocking plaintext client of the line protocol for the
// ProtocolServer tests (one thread; JSON in, JSON out; pushes collected on
// request).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace zp::agent {

class Client {
 public:
  explicit Client(unsigned short port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const nlohmann::json& message) {
    const std::string line = message.dump() + "\n";
    return ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  }
  // The next line as JSON; nullopt on timeout or end of stream (`closed` then set).
  std::optional<nlohmann::json> read(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto j = nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false);
        buffer_.erase(0, nl + 1);
        return j;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[64 * 1024];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        return std::nullopt;
      }
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // Reads until the reply carrying `req` (pushes before it are collected).
  std::optional<nlohmann::json> reply(const std::string& req, std::vector<nlohmann::json>* pushes = nullptr) {
    while (auto line = read()) {
      if (line->value("req", "") == req) return line;
      if (pushes != nullptr) pushes->push_back(*line);
    }
    return std::nullopt;
  }
  nlohmann::json call(nlohmann::json request) {
    const std::string req = "r" + std::to_string(++next_);
    request["req"] = req;
    if (!send(request)) return nlohmann::json{{"type", "SendFailed"}};
    return reply(req).value_or(nlohmann::json{{"type", "NoReply"}});
  }

  bool closed = false;

 private:
  int fd_ = -1;
  std::string buffer_;
  int next_ = 0;
};

}  // namespace zp::agent
