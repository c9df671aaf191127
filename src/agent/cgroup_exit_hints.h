#pragma once
// CgroupExitHints: hears from the host, the moment it happens, that the
// runtime cleaned up a container of one of this node's pods, and asks the
// runtime about that container until it reports the exit
// (docs/architecture.md §4, "Exit hints").
//
// containerd with the cgroupfs driver, for the classes whose pods sit in the
// agent's pod cgroups (pod_cgroup = "cgroupfs"), has runc make each
// container's cgroup <pod cgroup>/<container id> and remove it when it
// deletes the ended task; containerd 1.6 records the exit in its CRI status
// right after that deletion, and streams no container events: without a hint
// the agent learns of the exit at its next exit relist. An inotify watch on
// every pod cgroup of the node (the node directory of the pids hierarchy, and
// each pod directory in it) sees the removal; the hints' thread then asks
// `check` about that id at once and every `poll` after (every 10 × `poll`
// after the first 20 answers) until it answers kEnded (then `ended` is
// called, once for all the ids that ended in the same round), kUnknown (no
// runtime has a container of that id: a pod's sandbox), or `give_up` has
// passed. A runtime that names container cgroups otherwise (CRI-O:
// crio-<id>) gives no hints, and loses nothing else.
//
// A hint only brings the status sweep forward: the runtime's listing stays
// the source of truth, and an exit a hint missed (a pod whose watch was added
// after its container ended; a queue overflow, which brings one sweep) is the
// relist's and the sweep's to find.
//
// Threading: one thread of its own, from start() until the destructor, which
// stops and joins it: `check` and `ended` are not called once it has
// returned, and no new `check` starts once it has begun (it waits for the
// one in progress). Both run on that thread; `check` may block (a CRI call
// with a short deadline), `ended` must be quick.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace zp::agent {

// What the runtime says of a container a hint named.
enum class HintedContainer {
  kEnded,    // it reports the container exited
  kNotYet,   // running or created still, or the runtime did not answer
  kUnknown,  // no runtime has a container of that id
};

// `poll` above zero; `give_up` at least `poll`.
struct ExitHintTiming {
  std::chrono::milliseconds poll{5};
  std::chrono::milliseconds give_up{std::chrono::seconds(2)};
};

class CgroupExitHints {
 public:
  // Watches `node_directory` (which must exist) and the pod directories
  // ("pod<uid>") in it, those there now and those created later. Fails when
  // inotify cannot be set up or the directory cannot be watched.
  static Result<std::unique_ptr<CgroupExitHints>> start(
      std::filesystem::path node_directory,
      std::function<HintedContainer(const std::string& container_id)> check,
      std::function<void()> ended, ExitHintTiming timing = {});
  ~CgroupExitHints();
  CgroupExitHints(const CgroupExitHints&) = delete;
  CgroupExitHints& operator=(const CgroupExitHints&) = delete;

 private:
  struct Loop;
  explicit CgroupExitHints(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace zp::agent
