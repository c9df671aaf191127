#include "agent/isolation/isolation_monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/isolation/verdict.h"
#include "probe/collect.h"

namespace zp::agent {
namespace {

// The longest the probe thread sleeps without reading the clock again (a
// wall clock that was stepped is noticed within this).
constexpr std::chrono::seconds kMaxSleep{60};

constexpr std::string_view kNoImage =
    "not probed: this agent has no probe image ([probe] image, --probe-image)";

// `text` cut to at most `max` bytes on a UTF-8 character boundary, with "…"
// when cut.
std::string cutText(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t cut = max - 3;  // room for "…"
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "…";
}

void logQuarantine(const api::ClassIsolation& before, const api::ClassIsolation& after) {
  if (after.quarantined() && !before.quarantined()) {
    spdlog::warn(
        "runtime class \"{}\" is quarantined: it claims {} isolation but verified as {} "
        "(score {}); only trust levels that require nothing may use it",
        after.runtime_class, api::isolationLevelName(*after.claim),
        api::isolationLevelName(after.level), after.score);
  } else if (before.quarantined() && !after.quarantined()) {
    spdlog::info("runtime class \"{}\" is no longer quarantined (now {})", after.runtime_class,
                 api::isolationLevelName(after.level));
  }
}

}  // namespace

IsolationMonitor::IsolationMonitor(Options options, Prober& prober, const Clock& clock)
    : options_(std::move(options)), prober_(prober), clock_(clock) {
  for (const auto& c : options_.classes) {
    auto& entry = book_[c.name];
    entry.isolation.runtime_class = c.name;
    entry.isolation.claim = c.claim;
    if (!options_.enabled) entry.isolation.error = std::string(kNoImage);
  }
  if (!options_.enabled) {
    spdlog::warn(
        "no probe image configured ([probe] image): the isolation of the {} runtime "
        "class(es) is not verified, and trust levels that require a verified class "
        "cannot use them",
        book_.size());
  }
}

IsolationMonitor::~IsolationMonitor() { stop(); }

void IsolationMonitor::start() {
  if (!options_.enabled) return;
  host_ = options_.host ? *options_.host : probe::collectHostFacts();
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  const auto now = clock_.now();
  for (auto& [name, entry] : book_) entry.next_due = now;
  thread_ = std::thread([this] { run(); });
}

void IsolationMonitor::shutdown() {
  std::vector<std::function<void(Status)>> abandoned;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& w : waiters_) abandoned.push_back(std::move(w.done));
    waiters_.clear();
    queue_.clear();
  }
  wake_.notify_all();
  prober_.cancel();
  for (auto& done : abandoned) done(fail(Code::kUnavailable, "the agent is stopping"));
}

bool IsolationMonitor::busy() const {
  std::lock_guard lock(mutex_);
  return running_.has_value();
}

void IsolationMonitor::stop() {
  shutdown();
  std::lock_guard join(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

IsolationMonitor::View IsolationMonitor::view() {
  std::lock_guard lock(mutex_);
  expireLocked(clock_.now());
  View v;
  v.revision = revision_;
  for (const auto& [name, entry] : book_) v.classes.push_back(entry.isolation);
  return v;
}

std::int64_t IsolationMonitor::revision() {
  std::lock_guard lock(mutex_);
  expireLocked(clock_.now());
  return revision_;
}

bool IsolationMonitor::offers(const std::string& runtime_class) const {
  std::lock_guard lock(mutex_);
  return book_.contains(runtime_class);
}

void IsolationMonitor::request(const std::string& runtime_class, std::function<void(Status)> done) {
  Status now = ok();
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (!runtime_class.empty() && !book_.contains(runtime_class)) {
      now =
          fail(Code::kNotFound,
               "runtime class \"" + runtime_class.substr(0, 80) + "\" is not offered by this node",
               "runtime_class");
    } else if (stopping_) {
      now = fail(Code::kUnavailable, "the agent is stopping");
    } else if (options_.enabled) {
      Waiter waiter;
      for (const auto& [name, entry] : book_) {
        if (!runtime_class.empty() && name != runtime_class) continue;
        waiter.pending.insert(name);
        if (!queuedOrRunningLocked(name)) queue_.push_back(name);
      }
      if (!waiter.pending.empty()) {
        waiter.done = std::move(done);
        waiters_.push_back(std::move(waiter));
        queued = true;
      }
    }
  }
  if (!queued) {
    done(std::move(now));  // answered at once (probing disabled, unknown class, stopping)
    return;
  }
  wake_.notify_all();
}

void IsolationMonitor::recheck() {
  { std::lock_guard lock(mutex_); }  // a wait that has just checked the clock sees the notify
  wake_.notify_all();
}

bool IsolationMonitor::queuedOrRunningLocked(const std::string& name) const {
  return running_ == name || std::find(queue_.begin(), queue_.end(), name) != queue_.end();
}

void IsolationMonitor::expireLocked(TimePoint now) {
  const auto too_old = 3 * options_.interval;
  for (auto& [name, entry] : book_) {
    const auto& iso = entry.isolation;
    if (iso.level == api::IsolationLevel::kUnverified || !iso.verified_at) continue;
    if (now - *iso.verified_at <= too_old) continue;
    auto next = iso;
    next.level = api::IsolationLevel::kUnverified;
    next.score = 0;
    next.findings.clear();
    spdlog::warn(
        "runtime class \"{}\": no successful probe since {}; its isolation counts as "
        "unverified",
        name, formatRfc3339(*iso.verified_at));
    updateLocked(entry, std::move(next));
  }
}

void IsolationMonitor::queueDueLocked(TimePoint now) {
  for (const auto& [name, entry] : book_) {
    if (entry.next_due <= now && !queuedOrRunningLocked(name)) queue_.push_back(name);
  }
}

TimePoint IsolationMonitor::nextWakeLocked() const {
  auto next = TimePoint::max();
  for (const auto& [name, entry] : book_) {
    next = std::min(next, entry.next_due);
    const auto& iso = entry.isolation;
    if (iso.level != api::IsolationLevel::kUnverified && iso.verified_at) {
      next =
          std::min(next, *iso.verified_at + 3 * options_.interval + std::chrono::milliseconds(1));
    }
  }
  return next;
}

void IsolationMonitor::updateLocked(Entry& entry, api::ClassIsolation next) {
  if (next == entry.isolation) return;
  logQuarantine(entry.isolation, next);
  entry.isolation = std::move(next);
  ++revision_;
}

std::vector<std::function<void(Status)>> IsolationMonitor::recordLocked(
    const std::string& name, const Result<probe::Report>& report, TimePoint now) {
  auto& entry = book_.at(name);
  entry.next_due = now + options_.interval;
  if (report) {
    auto judged = judge(name, *report, host_, entry.isolation.claim);
    judged.runtime_class = name;
    judged.claim = entry.isolation.claim;
    judged.verified_at = now;
    judged.attempted_at = now;
    judged.error.clear();
    if (judged.probe_version.empty()) judged.probe_version = report->probe_version;
    spdlog::info("runtime class \"{}\": verified {} (score {}, {} finding(s))", name,
                 api::isolationLevelName(judged.level), judged.score, judged.findings.size());
    updateLocked(entry, std::move(judged));
  } else {
    auto next = entry.isolation;
    next.attempted_at = now;
    next.error = cutText(report.error().message, api::kMaxIsolationErrorLength);
    spdlog::warn("runtime class \"{}\": isolation probe failed: {}", name, report.error().message);
    updateLocked(entry, std::move(next));
  }
  std::vector<std::function<void(Status)>> completed;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    it->pending.erase(name);
    if (it->pending.empty()) {
      completed.push_back(std::move(it->done));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  return completed;
}

void IsolationMonitor::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto now = clock_.now();
    expireLocked(now);
    queueDueLocked(now);
    if (!queue_.empty()) {
      const std::string name = queue_.front();
      queue_.pop_front();
      running_ = name;
      lock.unlock();
      spdlog::debug("runtime class \"{}\": probing its isolation", name);
      auto report = prober_.probe(name);
      lock.lock();
      running_.reset();
      if (stopping_) break;  // cut short: nothing learnt
      auto completed = recordLocked(name, report, clock_.now());
      lock.unlock();
      for (auto& done : completed) done(ok());
      lock.lock();
      continue;
    }
    const auto wake_at = nextWakeLocked();
    auto sleep = std::chrono::duration_cast<std::chrono::milliseconds>(
        wake_at == TimePoint::max() ? kMaxSleep
                                    : std::min<std::chrono::nanoseconds>(wake_at - now, kMaxSleep));
    if (sleep < std::chrono::milliseconds(1)) sleep = std::chrono::milliseconds(1);
    // Woken early by a request, recheck() or stop(); the loop reads the clock again.
    wake_.wait_for(lock, sleep);
  }
}

}  // namespace zp::agent
