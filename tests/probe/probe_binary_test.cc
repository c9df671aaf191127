// The built zoneplane-probe run as a child process, as the agent runs it in
// a container: one JSON line on stdout, exit 0; bad arguments exit 2.

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "local_ports.h"
#include "probe/report_json.h"

extern char** environ;

namespace zp::probe {
namespace {

using testing::LocalPort;

struct ProbeRun {
  int exit_code = -1;
  std::string out, err;
};

std::string drain(int fd) {
  std::string text;
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

// Runs the probe with `args`; stderr goes to a temporary file so that
// neither pipe can fill while the other is read.
ProbeRun runProbe(const std::vector<std::string>& args) {
  ProbeRun run;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return run;
  char err_path[] = "/tmp/zp-probe-stderr-XXXXXX";
  int err_fd = ::mkstemp(err_path);
  if (err_fd < 0) return run;
  ::unlink(err_path);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  std::vector<char*> argv;
  std::string program = ZP_PROBE_BINARY;
  argv.push_back(program.data());
  std::vector<std::string> copies = args;
  for (auto& a : copies) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err_fd);
    return run;
  }
  run.out = drain(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ::lseek(err_fd, 0, SEEK_SET);
  run.err = drain(err_fd);
  return run;
}

std::string hostBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// The program headers of the ELF file at `path` (64-bit, host byte order).
std::vector<Elf64_Phdr> programHeaders(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof(header))) return {};
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64) {
    return {};
  }
  std::vector<Elf64_Phdr> headers(header.e_phnum);
  in.seekg(static_cast<std::streamoff>(header.e_phoff));
  in.read(reinterpret_cast<char*>(headers.data()),
          static_cast<std::streamsize>(headers.size() * sizeof(Elf64_Phdr)));
  return in ? headers : std::vector<Elf64_Phdr>{};
}

TEST(ProbeBinary, IsStaticallyLinked) {
  auto headers = programHeaders(ZP_PROBE_BINARY);
  ASSERT_FALSE(headers.empty());
  for (const auto& h : headers) {
    EXPECT_NE(h.p_type, static_cast<Elf64_Word>(PT_INTERP)) << "needs a dynamic loader";
    EXPECT_NE(h.p_type, static_cast<Elf64_Word>(PT_DYNAMIC)) << "has dynamic sections";
  }
}

TEST(ProbeBinary, ReportsTheHostKernelAndTheConnects) {
  LocalPort open(true), closed(false);
  ASSERT_TRUE(open.ok() && closed.ok());
  ProbeRun run = runProbe({"--connect", "127.0.0.1:" + std::to_string(closed.port()),
                           "--connect=127.0.0.1:" + std::to_string(open.port()),
                           "--connect-timeout-ms", "2000"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_FALSE(run.out.empty());
  EXPECT_EQ(run.out.back(), '\n');
  EXPECT_EQ(run.out.find('\n'), run.out.size() - 1);  // exactly one line
  auto report = decodeReport(run.out);
  ASSERT_TRUE(report.has_value()) << report.error().toString();
  EXPECT_EQ(report->format, 1);
  EXPECT_FALSE(report->probe_version.empty());
  ASSERT_TRUE(report->kernel.boot_id.has_value());
  EXPECT_EQ(*report->kernel.boot_id, hostBootId());
  ASSERT_EQ(report->connects.size(), 2u);
  EXPECT_EQ(report->connects[0].result, "refused");
  EXPECT_EQ(report->connects[1].result, "connected");
  EXPECT_EQ(report->masked_paths.size(), 11u);
  EXPECT_FALSE(report->mounts.empty());
  EXPECT_FALSE(report->namespaces.empty());
}

TEST(ProbeBinary, Version) {
  ProbeRun run = runProbe({"--version"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out.rfind("zoneplane-probe ", 0), 0u) << run.out;
}

TEST(ProbeBinary, BadArgumentsExitTwoWithAMessage) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--connect", "localhost:80"},
                                                                {"--connect-timeout-ms", "0"},
                                                                {"--bogus"},
                                                                {"--connect"}}) {
    ProbeRun run = runProbe(args);
    EXPECT_EQ(run.exit_code, 2) << args[0];
    EXPECT_TRUE(run.out.empty()) << run.out;
    EXPECT_EQ(run.err.rfind("zoneplane-probe: ", 0), 0u) << run.err;
  }
}

}  // namespace
}  // namespace zp::probe
