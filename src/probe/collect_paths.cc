// Paths the kubelet masks, device nodes and container-runtime sockets.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <functional>
#include <set>
#include <utility>

#include "api/posture_paths.h"
#include "probe/collect_parts.h"

namespace zp::probe {
namespace {

// Where container runtimes listen.
constexpr std::array<const char*, 6> kRuntimeSockets{
    "/run/containerd/containerd.sock",
    "/var/run/docker.sock",
    "/run/crio/crio.sock",
    "/var/lib/edera/protect/cri.socket",
    "/run/k3s/containerd/containerd.sock",
    "/var/lib/zoneplane-stack/containerd/containerd.sock"};
constexpr std::array<const char*, 2> kSocketSearchRoots{"/run", "/var/run"};

constexpr int kMaxWalkDepth = 3;
constexpr std::size_t kMaxWalkEntries = 8192;

// Walks `root` without following symlinks, at most kMaxWalkDepth levels and
// `budget` entries; calls `visit(path, stat)` for every entry.
void walk(const std::string& root, int depth, std::size_t& budget,
          const std::function<void(const std::string&, const struct stat&)>& visit) {
  if (depth > kMaxWalkDepth || budget == 0) return;
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> subdirs;
  while (budget > 0) {
    struct dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    --budget;
    struct stat st {};
    if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string path = root == "/" ? "/" + std::string(name) : root + "/" + std::string(name);
    visit(path, st);
    if (S_ISDIR(st.st_mode)) subdirs.push_back(std::move(path));
  }
  ::closedir(dir);
  for (const auto& sub : subdirs) walk(sub, depth + 1, budget, visit);
}

std::string maskedState(const char* path) {
  struct stat st {};
  if (::lstat(path, &st) != 0) return errno == ENOENT ? "absent" : "masked";
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) return "masked";  // /dev/null over it
  if (S_ISDIR(st.st_mode)) {
    DIR* dir = ::opendir(path);
    if (dir == nullptr) return "masked";
    bool has_entries = false;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") {
        has_entries = true;
        break;
      }
    }
    ::closedir(dir);
    return has_entries ? "readable" : "masked";  // an empty (tmpfs) directory over it
  }
  int fd = ::open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return "masked";
  char byte = 0;
  ssize_t n = ::read(fd, &byte, 1);
  ::close(fd);
  return n > 0 ? "readable" : "masked";
}

bool socketName(std::string_view name) {
  return name.ends_with(".sock") || name.ends_with(".socket");
}

}  // namespace

std::vector<MaskedPath> collectMaskedPaths(Notes& /*notes*/) {
  std::vector<MaskedPath> out;
  for (std::string_view path : api::kMaskedPaths) {
    const std::string p(path);
    out.push_back(MaskedPath{p, maskedState(p.c_str())});
  }
  return out;
}

std::vector<Device> collectDevices(Notes& notes) {
  std::vector<Device> devices;
  std::size_t budget = kMaxWalkEntries;
  std::size_t seen = 0;
  struct stat root {};
  if (::stat("/dev", &root) != 0) {
    notes.failed("/dev", errno);
    return devices;
  }
  walk("/dev", 1, budget, [&](const std::string& path, const struct stat& st) {
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return;
    ++seen;
    Device d;
    d.path = sanitizeText(path, 1024);
    d.type = S_ISBLK(st.st_mode) ? 'b' : 'c';
    d.major = ::major(st.st_rdev);
    d.minor = ::minor(st.st_rdev);
    devices.push_back(std::move(d));
  });
  std::sort(devices.begin(), devices.end(),
            [](const Device& a, const Device& b) { return a.path < b.path; });
  if (devices.size() > kMaxDevices) {
    devices.resize(kMaxDevices);
    notes.add("/dev", std::to_string(seen) + " device nodes, the report lists the first " +
                          std::to_string(kMaxDevices));
  }
  if (budget == 0) notes.add("/dev", "more entries than searched");
  return devices;
}

std::vector<std::string> collectRuntimeSockets(Notes& notes) {
  std::vector<std::string> found;
  std::set<std::pair<dev_t, ino_t>> seen;
  auto add = [&](const std::string& path, const struct stat& st) {
    if (!S_ISSOCK(st.st_mode) || !seen.insert({st.st_dev, st.st_ino}).second) return;
    if (found.size() >= kMaxSockets) return;
    found.push_back(sanitizeText(path, 1024));
  };
  for (const char* path : kRuntimeSockets) {
    struct stat st {};
    if (::stat(path, &st) == 0) {
      add(path, st);
    } else if (errno != ENOENT && errno != ENOTDIR) {
      notes.failed(path, errno);
    }
  }
  std::size_t budget = kMaxWalkEntries;
  std::set<std::pair<dev_t, ino_t>> roots;  // /var/run is usually a link to /run
  for (const char* root : kSocketSearchRoots) {
    struct stat st {};
    if (::stat(root, &st) != 0 || !roots.insert({st.st_dev, st.st_ino}).second) continue;
    walk(root, 1, budget, [&](const std::string& path, const struct stat& st) {
      std::string_view name = path;
      name.remove_prefix(name.rfind('/') + 1);
      if (socketName(name)) add(path, st);
    });
  }
  if (budget == 0) notes.add("/run", "more entries than searched for sockets");
  return found;
}

}  // namespace zp::probe
