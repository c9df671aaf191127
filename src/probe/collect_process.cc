// The probe's own process: identity and privileges, PID 1 and the process
// table, namespace links.

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "probe/collect_parts.h"

namespace zp::probe {
namespace {

constexpr std::size_t kMaxProcEntriesScanned = 65536;

bool allDigits(const char* name) {
  if (*name == '\0') return false;
  for (; *name != '\0'; ++name) {
    if (*name < '0' || *name > '9') return false;
  }
  return true;
}

}  // namespace

void collectNamespaces(std::map<std::string, std::string>& namespaces, Notes& notes) {
  static constexpr std::array<const char*, 10> kNames{
      "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children",
      "user",   "uts"};
  for (const char* name : kNames) {
    std::string path = std::string("/proc/self/ns/") + name;
    std::array<char, 256> target{};
    ssize_t n = ::readlink(path.c_str(), target.data(), target.size() - 1);
    if (n < 0) {
      // A namespace type the kernel does not have (or does not show) is no
      // failure: its absence from the map says so.
      if (errno != ENOENT) notes.failed(path, errno);
      continue;
    }
    namespaces[name] =
        sanitizeText(std::string_view(target.data(), static_cast<std::size_t>(n)), 128);
  }
}

void collectProcess(ProcessFacts& process, PidFacts& pids, Notes& notes) {
  process.pid = ::getpid();
  FileText status = readFileBounded("/proc/self/status", 16 * 1024);
  if (status.ok()) {
    ProcStatus parsed = parseProcStatus(status.text);
    process.uid = parsed.uid;
    process.euid = parsed.euid;
    process.gid = parsed.gid;
    process.egid = parsed.egid;
    process.groups = std::move(parsed.groups);
    process.cap_inheritable = parsed.cap_inheritable;
    process.cap_permitted = parsed.cap_permitted;
    process.cap_effective = parsed.cap_effective;
    process.cap_bounding = parsed.cap_bounding;
    process.cap_ambient = parsed.cap_ambient;
    process.seccomp = parsed.seccomp;
    process.no_new_privs = parsed.no_new_privs;
  } else {
    notes.failed("/proc/self/status", status.error);
  }
  // The system calls answer when the status file does not.
  if (process.uid < 0) process.uid = ::getuid();
  if (process.euid < 0) process.euid = ::geteuid();
  if (process.gid < 0) process.gid = ::getgid();
  if (process.egid < 0) process.egid = ::getegid();

  FileText comm = readFileBounded("/proc/1/comm", 256);
  if (comm.ok()) {
    pids.pid1_comm = sanitizeText(trim(comm.text), 64);
  } else {
    notes.failed("/proc/1/comm", comm.error);
  }
  FileText cmdline = readFileBounded("/proc/1/cmdline", 4096);
  if (cmdline.ok()) {
    pids.pid1_cmdline = cmdlineText(cmdline.text, 256);
  } else {
    notes.failed("/proc/1/cmdline", cmdline.error);
  }

  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) {
    notes.failed("/proc", errno);
    return;
  }
  std::size_t scanned = 0;
  int count = 0;
  while (scanned < kMaxProcEntriesScanned) {
    errno = 0;
    struct dirent* entry = ::readdir(proc);
    if (entry == nullptr) {
      if (errno != 0) notes.failed("/proc", errno);
      break;
    }
    ++scanned;
    if (allDigits(entry->d_name)) ++count;
  }
  if (scanned >= kMaxProcEntriesScanned) notes.add("/proc", "more entries than scanned");
  ::closedir(proc);
  pids.visible_processes = count;
}

}  // namespace zp::probe
