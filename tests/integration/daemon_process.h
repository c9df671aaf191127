#pragma once
// DaemonProcess: one zoneplane daemon (agent or server) as a child process for
// tests. Its stdout is a pipe read until the line "<name> listening on
// HOST:PORT"; its stderr is appended to a log file. The child is SIGKILLed if
// the test process dies (PR_SET_PDEATHSIG) and by the destructor.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace zp::testsupport {

class DaemonProcess {
 public:
  DaemonProcess() = default;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess();

  // Spawns argv[0] with `argv` and waits (up to `timeout`) for the line
  // "<listening_prefix>HOST:PORT". Fails, with the log's tail, if it exits first.
  Status start(const std::vector<std::string>& argv, const std::string& listening_prefix,
               const std::filesystem::path& log_file,
               std::chrono::milliseconds timeout = std::chrono::seconds(90));
  // SIGKILL and reap. No-op when not running.
  void kill9();
  // SIGTERM, then waits up to `timeout`. Returns the exit code (or -signal);
  // nullopt on timeout (then SIGKILLed).
  std::optional<int> terminate(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // True while the child has not exited (reaps it if it has).
  bool alive();

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  void closePipe();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  unsigned short port_ = 0;
};

// The last `max_lines` lines of a file ("" if unreadable), for failure messages.
std::string logTail(const std::filesystem::path& path, std::size_t max_lines = 60);

}  // namespace zp::testsupport
