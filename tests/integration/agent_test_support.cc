#include "agent_test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "agent/pod_cgroups.h"

namespace zp::agent_it {
namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::string envOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string randomHex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          static_cast<std::uint64_t>(getpid()) << 20};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n, '0');
  for (auto& c : out) c = kHex[rng() % 16];
  return out;
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

// ---- AgentProcess

Status AgentProcess::start(const AgentArgs& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {args.binary,   "--node-id",   args.node_id,
                                   "--listen",    "127.0.0.1:0", "--data-dir",
                                   args.data_dir.string()};
  for (const auto& c : args.runtime_classes) {
    argv.push_back("--runtime-class");
    argv.push_back(c);
  }
  argv.insert(argv.end(), args.extra_args.begin(), args.extra_args.end());
  return process_.start(argv, "zoneplane-agent listening on ", args.log_file, timeout);
}

// ---- LineClient

Result<LineClient> LineClient::connect(unsigned short port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
  return LineClient(fd);
}

LineClient::LineClient(LineClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      next_req_(other.next_req_) {}

LineClient& LineClient::operator=(LineClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    next_req_ = other.next_req_;
  }
  return *this;
}

LineClient::~LineClient() { close(); }

void LineClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status LineClient::sendRaw(std::string_view bytes) {
  if (fd_ < 0) return fail(Code::kUnavailable, "not connected");
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Code::kUnavailable, errnoText("send"));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

Status LineClient::send(const Json& message) { return sendRaw(message.dump() + "\n"); }

Result<std::string> LineClient::readLine(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (fd_ < 0) return fail(Code::kUnavailable, "not connected");
    pollfd p{fd_, POLLIN, 0};
    const int r = poll(&p, 1, remainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail(Code::kInternal, errnoText("poll"));
    if (r == 0) return fail(Code::kDeadlineExceeded, "no reply line in time");
    char buf[64 * 1024];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return fail(Code::kUnavailable, "connection closed by the agent");
    if (n < 0) return fail(Code::kUnavailable, errnoText("recv"));
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

Result<Json> LineClient::readJson(std::chrono::milliseconds timeout) {
  auto line = readLine(timeout);
  if (!line) return fail(line.error());
  auto j = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Code::kInternal, "reply is not a JSON object: " + line->substr(0, 200));
  }
  return j;
}

Result<Json> LineClient::call(Json request, std::chrono::milliseconds timeout) {
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
  auto reply = call(std::move(request), 60s);
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

Json workloadJson(const std::string& id, const std::string& image, std::vector<std::string> command,
                  const std::string& runtime_class, std::int64_t memory_mb,
                  std::int64_t cpu_millicores) {
  Json w{{"id", id},
         {"image", image},
         {"runtime_class", runtime_class},
         {"memory_mb", memory_mb},
         {"cpu_millicores", cpu_millicores}};
  if (!command.empty()) w["command"] = std::move(command);
  return w;
}

Status removeSandboxesOfNode(const cri::Client& cri, const std::string& node_id,
                             std::chrono::milliseconds timeout) {
  cri::v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())["zoneplane.io/node-id"] = node_id;
  std::string last_error;
  // A RunPodSandbox the killed agent started may still be finishing in the
  // runtime: its sandbox is listed only once made, and its pod cgroup stays
  // busy until it is removed. So: until nothing is listed and the node's pod
  // cgroups (/zoneplane/<node_id>, which the killed agent did not release)
  // are gone too.
  const bool clean = waitFor(
      [&] {
        auto sandboxes = cri.listPodSandbox(filter);
        if (!sandboxes) {
          last_error = sandboxes.error().toString();
          return false;
        }
        if (sandboxes->empty()) {
          auto removed = agent::removeNodeCgroups(node_id);
          if (removed) return true;
          last_error = removed.error().message;
          return false;
        }
        for (const auto& sandbox : *sandboxes) {
          auto stopped = cri.stopPodSandbox(sandbox.id());
          auto removed = cri.removePodSandbox(sandbox.id());
          if (!stopped || !removed) {
            last_error = sandbox.id() + ": " +
                         (!stopped ? stopped.error().toString() : removed.error().toString());
          }
        }
        return false;  // listed again on the next round
      },
      timeout, 500ms);
  if (!clean) {
    return fail(Code::kDeadlineExceeded, "node " + node_id + " left behind: " + last_error);
  }
  return ok();
}

}  // namespace zp::agent_it
