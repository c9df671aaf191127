#include "agent/cgroup_exit_hints.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string_view>
#include <system_error>
#include <vector>

#include "agent/pod_cgroups.h"

namespace zp::agent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Answers at `poll` before the pace drops to 10 × `poll`.
constexpr unsigned kQuickAsks = 20;
// While the node directory is not watched (it was removed), how often it is
// looked for again.
constexpr int kNodeRetryMs = 1000;

// A runtime's container id as a cgroup name: lowercase hex, as containerd and
// CRI-O make them. Anything else in a pod directory is not a container's.
bool isContainerId(std::string_view name) {
  return !name.empty() && name.size() <= 128 &&
         name.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string errnoText(int error = errno) {
  return std::error_code(error, std::generic_category()).message();
}

}  // namespace

// Everything the thread uses; it alone touches it once the thread runs.
struct CgroupExitHints::Loop {
  struct Pending {
    std::string id;
    Clock::time_point next;
    Clock::time_point until;
    unsigned asked = 0;
  };

  fs::path node_dir;
  std::function<HintedContainer(const std::string&)> check;
  std::function<void()> ended;
  ExitHintTiming timing;
  int inotify = -1;
  int stop = -1;  // an eventfd the destructor writes
  std::atomic<bool> stopping{false};  // set before it writes: no new ask starts
  int node_wd = -1;
  std::vector<Pending> pending;

  ~Loop() {
    if (inotify >= 0) ::close(inotify);
    if (stop >= 0) ::close(stop);
  }

  // Watches the node directory and every pod directory in it. 0, or the
  // errno of a node directory that cannot be watched.
  int watchNode() {
    node_wd = inotify_add_watch(inotify, node_dir.c_str(), IN_CREATE | IN_ONLYDIR);
    if (node_wd < 0) return errno;
    // Watch first, then list: a pod made in between is seen either way. The
    // directory may go meanwhile: the listing then stops (error_code forms).
    std::error_code ec;
    for (fs::directory_iterator it(node_dir, ec), end; !ec && it != end; it.increment(ec)) {
      watchPod(it->path().filename().string());
    }
    return 0;
  }

  void watchPod(const std::string& name) {
    if (!name.starts_with(kPodCgroupPrefix)) return;
    // Adding a watch the directory already has is harmless (same descriptor).
    // A pod removed meanwhile fails with ENOENT: nothing to watch.
    inotify_add_watch(inotify, (node_dir / name).c_str(), IN_DELETE | IN_ONLYDIR);
  }

  void hint(std::string id) {
    const bool known =
        std::any_of(pending.begin(), pending.end(), [&](const Pending& p) { return p.id == id; });
    if (known) return;
    const auto now = Clock::now();
    pending.push_back({std::move(id), now, now + timing.give_up});
  }

  // Reads what inotify has queued. True when some hints may have been lost
  // (the queue overflowed): the caller then asks for one sweep.
  bool readEvents() {
    alignas(inotify_event) char buffer[64 * 1024];
    bool overflowed = false;
    for (;;) {
      const ssize_t n = ::read(inotify, buffer, sizeof buffer);
      if (n <= 0) break;  // EAGAIN: drained (the descriptor is non-blocking)
      for (const char* p = buffer; p < buffer + n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(p);
        p += sizeof(inotify_event) + event->len;
        const std::string name = event->len > 0 ? std::string(event->name) : std::string{};
        if (event->mask & IN_Q_OVERFLOW) {
          overflowed = true;
        } else if (event->wd == node_wd) {
          if (event->mask & IN_IGNORED) {
            node_wd = -1;  // the node directory was removed; looked for again later
          } else if ((event->mask & IN_CREATE) && (event->mask & IN_ISDIR)) {
            watchPod(name);
          }
        } else if ((event->mask & IN_DELETE) && (event->mask & IN_ISDIR) && isContainerId(name)) {
          hint(name);
        }
      }
    }
    if (overflowed && node_wd >= 0) watchNode();  // pods created meanwhile
    return overflowed;
  }

  // Asks about every id whose turn has come; calls `ended` once if any did.
  void askDue() {
    bool any = false;
    for (auto it = pending.begin(); it != pending.end();) {
      if (stopping.load()) return;
      if (it->next > Clock::now()) {
        ++it;
        continue;
      }
      const HintedContainer answer = check(it->id);
      ++it->asked;
      const auto now = Clock::now();
      if (answer == HintedContainer::kEnded) any = true;
      if (answer != HintedContainer::kNotYet || now >= it->until) {
        if (answer == HintedContainer::kNotYet) {
          spdlog::debug("exit hint for container {}: no exit reported within {} ms", it->id,
                        timing.give_up.count());
        }
        it = pending.erase(it);
        continue;
      }
      it->next = now + (it->asked < kQuickAsks ? timing.poll : timing.poll * 10);
      ++it;
    }
    if (any) ended();
  }

  // How long poll() may wait: until the next ask is due, or the next look
  // for the node directory; -1 when nothing is due.
  int waitMs() const {
    int wait = node_wd < 0 ? kNodeRetryMs : -1;
    if (pending.empty()) return wait;
    auto next = pending.front().next;
    for (const auto& p : pending) next = std::min(next, p.next);
    const auto until = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
    const int due = static_cast<int>(std::max<std::int64_t>(0, until));
    return wait < 0 ? due : std::min(wait, due);
  }

  void run() {
    for (;;) {
      pollfd fds[2] = {{inotify, POLLIN, 0}, {stop, POLLIN, 0}};
      const int n = ::poll(fds, 2, waitMs());
      if (n < 0 && errno != EINTR) {
        spdlog::error("exit hints stopped: poll: {}; exits are seen by the relist and the sweep",
                      errnoText());
        return;
      }
      if (fds[1].revents != 0) return;
      if (n > 0 && (fds[0].revents & POLLIN) && readEvents()) ended();
      if (node_wd < 0 && watchNode() == 0) {
        spdlog::info("exit hints: watching {} again", node_dir.string());
      }
      askDue();
    }
  }
};

Result<std::unique_ptr<CgroupExitHints>> CgroupExitHints::start(
    fs::path node_directory, std::function<HintedContainer(const std::string&)> check,
    std::function<void()> ended, ExitHintTiming timing) {
  auto loop = std::make_unique<Loop>();
  loop->node_dir = std::move(node_directory);
  loop->check = std::move(check);
  loop->ended = std::move(ended);
  loop->timing = timing;
  loop->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (loop->inotify < 0) return fail(Code::kInternal, "inotify_init1: " + errnoText());
  loop->stop = eventfd(0, EFD_CLOEXEC);
  if (loop->stop < 0) return fail(Code::kInternal, "eventfd: " + errnoText());
  if (const int error = loop->watchNode(); error != 0) {
    return fail(Code::kInternal,
                "cannot watch " + loop->node_dir.string() + ": " + errnoText(error));
  }
  return std::unique_ptr<CgroupExitHints>(new CgroupExitHints(std::move(loop)));
}

CgroupExitHints::CgroupExitHints(std::unique_ptr<Loop> loop)
    : loop_(std::move(loop)), thread_([loop = loop_.get()] {
        try {
          loop->run();
        } catch (const std::exception& e) {
          spdlog::error("exit hints stopped: {}; exits are seen by the relist and the sweep",
                        e.what());
        }
      }) {}

CgroupExitHints::~CgroupExitHints() {
  loop_->stopping.store(true);
  const std::uint64_t one = 1;
  if (::write(loop_->stop, &one, sizeof one) != sizeof one) {
    spdlog::error("exit hints: cannot wake the thread to stop it: {}", errnoText());
  }
  thread_.join();
}

}  // namespace zp::agent
