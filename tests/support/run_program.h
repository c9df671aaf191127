#pragma once
// Runs a program to its end and collects its exit code and output, for tests
// of whole programs (tests/programs, tests/cli/completion_test.cc).

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace zp::testsupport {

struct ProgramRun {
  int exit_code = -1;  // -1: not started, or ended by a signal
  std::string out, err;
};

namespace detail {
inline std::string readAll(int fd) {
  std::string text;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}
}  // namespace detail

// Runs argv[0] (looked up in PATH when it has no '/') with `argv`, stdin from
// /dev/null; stderr goes to an unlinked temporary file so that neither
// stream can block the other.
inline ProgramRun runProgram(const std::vector<std::string>& argv) {
  ProgramRun run;
  if (argv.empty()) return run;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return run;
  char err_path[] = "/tmp/zp-run-stderr-XXXXXX";
  const int err_fd = ::mkstemp(err_path);
  if (err_fd < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return run;
  }
  ::unlink(err_path);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  std::vector<std::string> copies = argv;
  std::vector<char*> args;
  for (auto& arg : copies) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc == 0) {
    run.out = detail::readAll(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ::lseek(err_fd, 0, SEEK_SET);
    run.err = detail::readAll(err_fd);
  }
  ::close(out[0]);
  ::close(err_fd);
  return run;
}

// True when `program` is found in PATH.
inline bool inPath(const std::string& program) {
  return runProgram({"sh", "-c", "command -v " + program}).exit_code == 0;
}

}  // namespace zp::testsupport
