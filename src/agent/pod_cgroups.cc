#include "agent/pod_cgroups.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

namespace zp::agent {
namespace fs = std::filesystem;
namespace {

Status unsafeUid(std::string_view uid) {
  return fail(Code::kInvalidArgument, "submission uid \"" + std::string(uid.substr(0, 64)) +
                                          "\" is not a safe cgroup name");
}

std::string readSmallFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `value` to a cgroup control file (which must already exist on a real
// cgroupfs; plain files are created, for tests on a scratch directory).
Status writeControl(const fs::path& path, const std::string& value) {
  std::ofstream out(path, std::ios::out | std::ios::trunc);
  if (out) out << value;
  if (out) out.flush();
  if (!out) {
    return fail(Code::kInternal,
                "cannot write \"" + value + "\" to " + path.string() + ": " + std::strerror(errno));
  }
  return ok();
}

// Removes `dir` and the empty cgroups below it, deepest first. ENOENT is fine;
// a cgroup that still has processes (EBUSY) is reported.
Status removeTree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return ok();
  std::vector<fs::path> children;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) children.push_back(entry.path());
  }
  std::string errors;
  for (const auto& child : children) {
    if (auto s = removeTree(child); !s) errors += (errors.empty() ? "" : "; ") + s.error().message;
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    // On a scratch directory (tests) the control files are plain files.
    if (errno == ENOTEMPTY) {
      fs::remove_all(dir, ec);
      if (!ec) return errors.empty() ? ok() : fail(Code::kInternal, errors);
    }
    errors += (errors.empty() ? "" : "; ") + std::string("cannot remove ") + dir.string() + ": " +
              std::strerror(errno);
  }
  if (!errors.empty()) return fail(Code::kInternal, errors);
  return ok();
}

// The processes listed in the cgroup.procs of `dir` and of every cgroup below
// it that are still alive.
std::vector<pid_t> processesIn(const fs::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return out;
  std::istringstream listed(readSmallFile(dir / "cgroup.procs"));
  for (long pid = 0; listed >> pid;) {
    if (pid > 1 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    auto below = processesIn(entry.path());
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

// Kills what the runtime left in a pod cgroup no sandbox uses any more (say a
// `runc init` of a container whose start a runtime restart cut short, which
// RemovePodSandbox does not end), as the kubelet does before it removes a
// pod's cgroup: SIGKILL to every process in the tree, then a bounded wait
// (1 s) for the tree to empty so it can be removed. The cgroup is the
// agent's (prepare() made it); nothing outside the pod is touched.
// Returns how many processes it killed; `what` names the cgroup and why, for
// the log.
std::size_t killLeftIn(const fs::path& dir, const std::string& what) {
  auto left = processesIn(dir);
  if (left.empty()) return 0;
  spdlog::warn("{}: killing {} process(es) the runtime left", what, left.size());
  for (pid_t pid : left) ::kill(pid, SIGKILL);
  using namespace std::chrono_literals;
  for (int i = 0; i < 50 && !processesIn(dir).empty(); ++i) std::this_thread::sleep_for(20ms);
  return left.size();
}

std::string podLeftovers(const std::string& pod) {
  return "pod cgroup " + pod + " (its sandbox removed)";
}

}  // namespace

std::string NoPodCgroups::describe() const {
  return "none: the agent creates no pod cgroup and sets no pids limit; the runtime bounds its "
         "own zones";
}

std::string CgroupfsPodCgroups::nodePath(const std::string& node_id) {
  return "/zoneplane/" + node_id;
}

Result<std::unique_ptr<CgroupfsPodCgroups>> CgroupfsPodCgroups::create(const std::string& node_id,
                                                                       fs::path mount_root) {
  std::error_code ec;
  const auto controllers = mount_root / "cgroup.controllers";
  if (fs::exists(controllers, ec)) {
    std::istringstream words(readSmallFile(controllers));
    for (std::string w; words >> w;) {
      if (w == "pids") {
        return std::unique_ptr<CgroupfsPodCgroups>(
            new CgroupfsPodCgroups(node_id, std::move(mount_root), Layout::kV2));
      }
    }
    return fail(Code::kFailedPrecondition,
                "cgroup v2 at " + mount_root.string() +
                    " does not offer the pids controller (cgroup.controllers: \"" +
                    readSmallFile(controllers) + "\")");
  }
  if (fs::exists(mount_root / "pids" / "cgroup.procs", ec)) {
    return std::unique_ptr<CgroupfsPodCgroups>(
        new CgroupfsPodCgroups(node_id, std::move(mount_root), Layout::kV1));
  }
  return fail(Code::kFailedPrecondition,
              "no pids cgroup controller under " + mount_root.string() +
                  " (neither cgroup v2 with pids nor a v1 pids hierarchy)");
}

fs::path CgroupfsPodCgroups::pidsHierarchy() const {
  return layout_ == Layout::kV2 ? mount_root_ : mount_root_ / "pids";
}

std::vector<fs::path> CgroupfsPodCgroups::hierarchies() const {
  if (layout_ == Layout::kV2) return {mount_root_};
  // v1 (and hybrid): one directory per mounted hierarchy (cpu, memory, pids,
  // systemd, unified, ...). Co-mounted controllers appear as symlinks
  // ("cpuacct -> cpu,cpuacct"): the real directory is listed once.
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(mount_root_, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) out.push_back(it->path());
  }
  return out;
}

PodPlacement CgroupfsPodCgroups::placement(const WorkloadIdentity& identity) const {
  return PodPlacement{nodePath(node_id_) + "/" + std::string(kPodCgroupPrefix) + identity.uid,
                      layout_ == Layout::kV2};
}

fs::path CgroupfsPodCgroups::podDirectory(const WorkloadIdentity& identity) const {
  return pidsHierarchy() / placement(identity).cgroup_parent.substr(1);
}

Status CgroupfsPodCgroups::makeDirectory(const fs::path& dir, std::string_view what) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fail(Code::kInternal,
                "cannot create " + std::string(what) + " " + dir.string() + ": " + ec.message());
  }
  if (layout_ == Layout::kV2) {
    // A v2 controller is usable in a cgroup only when every ancestor enables
    // it for its children: root -> zoneplane -> <node> for a pod (the pod's
    // own children are the runtime's business).
    fs::path p = mount_root_;
    const fs::path relative = dir.lexically_relative(mount_root_);
    for (const auto& part : relative) {
      if (auto s = writeControl(p / "cgroup.subtree_control", "+pids"); !s) return s;
      p /= part;
    }
  }
  return ok();
}

Result<fs::path> CgroupfsPodCgroups::nodeDirectory() {
  fs::path dir = pidsHierarchy() / nodePath(node_id_).substr(1);
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return dir;  // watching it needs no write
  if (auto s = makeDirectory(dir, "the node's cgroup"); !s) return fail(s.error());
  made_node_directory_ = true;
  return dir;
}

void CgroupfsPodCgroups::removeNodeDirectoryIfMadeAndEmpty() const {
  if (!made_node_directory_) return;
  const std::string relative = nodePath(node_id_).substr(1);
  for (const auto& h : hierarchies()) {
    // rmdir refuses a cgroup with children (pods), which is what stays.
    ::rmdir((h / relative).c_str());
  }
}

Status CgroupfsPodCgroups::prepare(const WorkloadIdentity& identity) {
  if (!isValidSubmissionUid(identity.uid)) return unsafeUid(identity.uid);
  const fs::path dir = podDirectory(identity);
  if (auto s = makeDirectory(dir, "pod cgroup"); !s) return s;
  return writeControl(dir / "pids.max", std::to_string(identity.spec.security.pids_limit));
}

Status CgroupfsPodCgroups::release(const WorkloadIdentity& identity) {
  if (!isValidSubmissionUid(identity.uid)) return unsafeUid(identity.uid);
  const std::string relative = placement(identity).cgroup_parent.substr(1);
  killLeftIn(pidsHierarchy() / relative, podLeftovers(relative));
  std::string errors;
  for (const auto& h : hierarchies()) {
    if (auto s = removeTree(h / relative); !s)
      errors += (errors.empty() ? "" : "; ") + s.error().message;
  }
  if (!errors.empty())
    return fail(Code::kInternal, "pod cgroup of \"" + identity.spec.id + "\": " + errors);
  return ok();
}

Status CgroupfsPodCgroups::pruneExcept(const std::set<std::string>& live_uids) {
  const std::string node_relative = nodePath(node_id_).substr(1);
  // The runtime creates the pod's cgroup in every hierarchy: gather the pod
  // directories from all of them.
  std::set<std::string> dead;
  std::error_code ec;
  for (const auto& h : hierarchies()) {
    for (const auto& entry : fs::directory_iterator(h / node_relative, ec)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_directory(ec) || !name.starts_with(kPodCgroupPrefix)) continue;
      const std::string uid = name.substr(kPodCgroupPrefix.size());
      if (isValidSubmissionUid(uid) && !live_uids.contains(uid)) dead.insert(uid);
    }
  }
  std::string errors;
  for (const auto& uid : dead) {
    const std::string pod_relative = node_relative + "/" + std::string(kPodCgroupPrefix) + uid;
    killLeftIn(pidsHierarchy() / pod_relative, podLeftovers(pod_relative));
    std::string uid_errors;
    for (const auto& h : hierarchies()) {
      if (auto s = removeTree(h / node_relative / (std::string(kPodCgroupPrefix) + uid)); !s) {
        uid_errors = s.error().message;
      }
    }
    if (uid_errors.empty()) {
      spdlog::info("removed the pod cgroup of submission {}, which has no sandbox left", uid);
    } else {
      errors += (errors.empty() ? "" : "; ") + uid_errors;
    }
  }
  if (!errors.empty()) return fail(Code::kInternal, "orphan pod cgroups: " + errors);
  return ok();
}

std::size_t CgroupfsPodCgroups::killContainer(const WorkloadIdentity& identity,
                                              std::string_view container_id) {
  if (!isValidSubmissionUid(identity.uid) || container_id.empty() || container_id.size() > 128 ||
      container_id.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return 0;
  }
  const std::string relative =
      placement(identity).cgroup_parent.substr(1) + "/" + std::string(container_id);
  return killLeftIn(pidsHierarchy() / relative,
                    "container cgroup " + relative + " (stopped, yet not removable)");
}

std::string CgroupfsPodCgroups::describe() const {
  return std::string("cgroupfs (cgroup ") + (layout_ == Layout::kV2 ? "v2" : "v1") +
         "): each pod gets the cgroup " + nodePath(node_id_) +
         "/pod<uid> as its cgroup_parent, with pids.max = security.pids_limit, under " +
         pidsHierarchy().string();
}

Status removeNodeCgroups(const std::string& node_id, const fs::path& mount_root) {
  const std::string relative = CgroupfsPodCgroups::nodePath(node_id).substr(1);
  std::vector<fs::path> roots{mount_root};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(mount_root, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) roots.push_back(entry.path());
  }
  std::string errors;
  for (const auto& root : roots) {
    if (auto s = removeTree(root / relative); !s)
      errors += (errors.empty() ? "" : "; ") + s.error().message;
  }
  if (!errors.empty()) return fail(Code::kInternal, errors);
  return ok();
}

}  // namespace zp::agent
