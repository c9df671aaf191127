#include "agent_test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace zp::agent_it {
namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Exit code of a wait status: the code, or -signal.
int exitCodeOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return -WTERMSIG(wstatus);
  return -1000;
}

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

std::string tailOfFile(const std::filesystem::path& path, std::size_t max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
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

AgentProcess::~AgentProcess() { kill9(); }

void AgentProcess::closePipe() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
}

Status AgentProcess::start(const AgentArgs& args, std::chrono::milliseconds timeout) {
  if (pid_ > 0) return fail(Code::kFailedPrecondition, "agent already running");
  std::vector<std::string> argv_strings = {args.binary,   "--node-id",  args.node_id,
                                           "--listen",    "127.0.0.1:0", "--data-dir",
                                           args.data_dir.string()};
  for (const auto& c : args.runtime_classes) {
    argv_strings.push_back("--runtime-class");
    argv_strings.push_back(c);
  }
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log_file = args.log_file.string();

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return fail(Code::kInternal, errnoText("pipe2"));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return fail(Code::kInternal, errnoText("fork"));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    dup2(out[1], STDOUT_FILENO);
    const int err = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err >= 0) dup2(err, STDERR_FILENO);
    const int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, STDIN_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(out[1]);
  pid_ = pid;
  stdout_fd_ = out[0];
  port_ = 0;

  // Wait for "zoneplane-agent listening on HOST:PORT\n".
  static constexpr std::string_view kPrefix = "zoneplane-agent listening on ";
  const auto deadline = Clock::now() + timeout;
  std::string got;
  while (got.find('\n') == std::string::npos) {
    pollfd p{stdout_fd_, POLLIN, 0};
    const int r = poll(&p, 1, remainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      kill9();
      return fail(Code::kDeadlineExceeded, "agent did not report listening in time; stderr:\n" +
                                               tailOfFile(args.log_file));
    }
    char buf[512];
    const ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int wstatus = 0;
      waitpid(pid_, &wstatus, 0);
      pid_ = -1;
      closePipe();
      return fail(Code::kUnavailable, "agent exited (" + std::to_string(exitCodeOf(wstatus)) +
                                          ") before listening; stderr:\n" + tailOfFile(args.log_file));
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  const std::string line = got.substr(0, got.find('\n'));
  const auto colon = line.rfind(':');
  if (!line.starts_with(kPrefix) || colon == std::string::npos) {
    kill9();
    return fail(Code::kInternal, "unexpected agent output: \"" + line + "\"");
  }
  port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  return ok();
}

void AgentProcess::kill9() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  closePipe();
}

std::optional<int> AgentProcess::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int wstatus = 0;
    const pid_t r = waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      closePipe();
      return exitCodeOf(wstatus);
    }
    if (Clock::now() >= deadline) {
      kill9();
      return std::nullopt;
    }
    std::this_thread::sleep_for(50ms);
  }
}

bool AgentProcess::alive() {
  if (pid_ <= 0) return false;
  int wstatus = 0;
  if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
    pid_ = -1;
    closePipe();
    return false;
  }
  return true;
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

}  // namespace zp::agent_it
