#include "daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

namespace zp::testsupport {
namespace {

using SteadyClock = std::chrono::steady_clock;

int remainingMs(SteadyClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

int exitCodeOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return -WTERMSIG(wstatus);
  return -1;
}

}  // namespace

std::string logTail(const std::filesystem::path& path, std::size_t max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

DaemonProcess::~DaemonProcess() { kill9(); }

void DaemonProcess::closePipe() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
}

Status DaemonProcess::start(const std::vector<std::string>& argv_in, const std::string& prefix,
                            const std::filesystem::path& log_file, std::chrono::milliseconds timeout) {
  if (pid_ > 0) return fail(Code::kFailedPrecondition, "already running");
  std::vector<std::string> argv_strings = argv_in;
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log = log_file.string();

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return fail(Code::kInternal, std::string("pipe2: ") + std::strerror(errno));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return fail(Code::kInternal, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    dup2(out[1], STDOUT_FILENO);
    const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
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

  const auto deadline = SteadyClock::now() + timeout;
  std::string got;
  while (got.find('\n') == std::string::npos) {
    pollfd p{stdout_fd_, POLLIN, 0};
    const int r = poll(&p, 1, remainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      kill9();
      return fail(Code::kDeadlineExceeded, argv_in[0] + " did not report listening in time; log:\n" + logTail(log_file));
    }
    char buf[512];
    const ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int wstatus = 0;
      waitpid(pid_, &wstatus, 0);
      pid_ = -1;
      closePipe();
      return fail(Code::kUnavailable, argv_in[0] + " exited (" + std::to_string(exitCodeOf(wstatus)) +
                                          ") before listening; log:\n" + logTail(log_file));
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  const std::string line = got.substr(0, got.find('\n'));
  const auto colon = line.rfind(':');
  if (!line.starts_with(prefix) || colon == std::string::npos) {
    kill9();
    return fail(Code::kInternal, "unexpected output: \"" + line + "\"");
  }
  port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  return ok();
}

void DaemonProcess::kill9() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  closePipe();
}

std::optional<int> DaemonProcess::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, SIGTERM);
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      closePipe();
      return exitCodeOf(wstatus);
    }
    if (SteadyClock::now() >= deadline) {
      kill9();
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool DaemonProcess::alive() {
  if (pid_ <= 0) return false;
  int wstatus = 0;
  if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
    pid_ = -1;
    closePipe();
    return false;
  }
  return true;
}

}  // namespace zp::testsupport
