#include "agent/isolation/isolation_monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/isolation/verdict.h"
#include "agent/isolation/verdict_text.h"
#include "probe/collect.h"

namespace zp::agent {
namespace {

// The longest the probe thread sleeps without reading its clock again.
constexpr std::chrono::seconds kMaxSleep{60};

constexpr std::string_view kNoImage =
    "not probed: this agent has no probe image ([probe] image, --probe-image)";

// A failure's text as the book keeps it: printable ASCII (a probe's stderr,
// quoted in it, comes from inside a workload), cut to what the protocol
// carries.
std::string errorText(std::string_view message) {
  return verdict_detail::printable(message, api::kMaxIsolationErrorLength);
}

}  // namespace

IsolationMonitor::IsolationMonitor(Options options, Prober& prober, const Clock& clock,
                                   const MonotonicClock& monotonic)
    : options_(std::move(options)), prober_(prober), clock_(clock), monotonic_(monotonic) {
  for (const auto& c : options_.classes) {
    auto& entry = book_.try_emplace(c.name, options_.interval).first->second;
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

void IsolationMonitor::emit(LogLines& lines) {
  for (const auto& line : lines) {
    if (line.warning) {
      spdlog::warn("{}", line.text);
    } else {
      spdlog::info("{}", line.text);
    }
  }
  lines.clear();
}

void IsolationMonitor::start() {
  if (!options_.enabled) return;
  host_ = options_.host ? *options_.host : probe::collectHostFacts();
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  const auto now = monotonic_.now();
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
  LogLines log;
  View v;
  {
    std::lock_guard lock(mutex_);
    expireLocked(monotonic_.now(), log);
    v.revision = revision_;
    for (const auto& [name, entry] : book_) v.classes.push_back(entry.isolation);
  }
  emit(log);
  return v;
}

std::int64_t IsolationMonitor::revision() {
  LogLines log;
  std::int64_t revision = 0;
  {
    std::lock_guard lock(mutex_);
    expireLocked(monotonic_.now(), log);
    revision = revision_;
  }
  emit(log);
  return revision;
}

bool IsolationMonitor::offers(const std::string& runtime_class) const {
  std::lock_guard lock(mutex_);
  return book_.contains(runtime_class);
}

std::optional<MonotonicTime> IsolationMonitor::nextProbe(const std::string& runtime_class) const {
  std::lock_guard lock(mutex_);
  const auto it = book_.find(runtime_class);
  if (it == book_.end() || !started_) return std::nullopt;
  return it->second.next_due;
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

void IsolationMonitor::expireLocked(MonotonicTime now, LogLines& log) {
  const auto too_old = 3 * options_.interval;
  for (auto& [name, entry] : book_) {
    const auto& iso = entry.isolation;
    if (iso.level == api::IsolationLevel::kUnverified || !entry.verified_mono) continue;
    if (now - *entry.verified_mono <= too_old) continue;
    auto next = iso;
    next.level = api::IsolationLevel::kUnverified;
    next.score = 0;
    next.findings.clear();
    log.push_back({true, "runtime class \"" + name + "\": no successful probe since " +
                             (iso.verified_at ? formatRfc3339(*iso.verified_at) : "start") +
                             "; its isolation counts as unverified"});
    updateLocked(entry, std::move(next), log);
  }
}

void IsolationMonitor::queueDueLocked(MonotonicTime now) {
  for (const auto& [name, entry] : book_) {
    if (entry.next_due <= now && !queuedOrRunningLocked(name)) queue_.push_back(name);
  }
}

MonotonicTime IsolationMonitor::nextWakeLocked() const {
  auto next = MonotonicTime::max();
  for (const auto& [name, entry] : book_) {
    next = std::min(next, entry.next_due);
    if (entry.isolation.level != api::IsolationLevel::kUnverified && entry.verified_mono) {
      next = std::min(next,
                      *entry.verified_mono + 3 * options_.interval + std::chrono::milliseconds(1));
    }
  }
  return next;
}

void IsolationMonitor::updateLocked(Entry& entry, api::ClassIsolation next, LogLines& log) {
  if (next == entry.isolation) return;
  // Quarantine follows verified results only: an unverified one (expired, or
  // none yet) neither begins nor ends it.
  if (next.level != api::IsolationLevel::kUnverified) {
    const bool quarantined = next.quarantined();
    if (quarantined && !entry.quarantine_logged) {
      log.push_back({true, "runtime class \"" + next.runtime_class +
                               "\" is quarantined: it claims " +
                               std::string(api::isolationLevelName(*next.claim)) +
                               " isolation but verified as " +
                               std::string(api::isolationLevelName(next.level)) + " (score " +
                               std::to_string(next.score) +
                               "); only trust levels that require nothing may use it"});
    } else if (!quarantined && entry.quarantine_logged) {
      log.push_back({false, "runtime class \"" + next.runtime_class +
                                "\" is no longer quarantined (now " +
                                std::string(api::isolationLevelName(next.level)) + ")"});
    }
    entry.quarantine_logged = quarantined;
  }
  entry.isolation = std::move(next);
  ++revision_;
}

Result<api::ClassIsolation> IsolationMonitor::conclude(const std::string& name,
                                                       const Result<probe::Report>& report) const {
  if (!report) return fail(report.error().code, errorText(report.error().message));
  const auto claim = std::find_if(options_.classes.begin(), options_.classes.end(),
                                  [&](const ClassClaim& c) { return c.name == name; });
  auto judged =
      judge(name, *report, host_, claim == options_.classes.end() ? std::nullopt : claim->claim);
  judged.runtime_class = name;
  judged.error.clear();
  return judged;
}

std::vector<std::function<void(Status)>> IsolationMonitor::recordLocked(
    const std::string& name, Result<api::ClassIsolation> outcome, TimePoint now,
    MonotonicTime mono_now, LogLines& log) {
  auto& entry = book_.at(name);
  if (outcome) {
    entry.retry.reset();
    entry.next_due = mono_now + options_.interval;
    entry.verified_mono = mono_now;
    auto judged = std::move(*outcome);
    judged.claim = entry.isolation.claim;
    judged.verified_at = now;
    judged.attempted_at = now;
    log.push_back({false, "runtime class \"" + name + "\": verified " +
                              std::string(api::isolationLevelName(judged.level)) + " (score " +
                              std::to_string(judged.score) + ", " +
                              std::to_string(judged.findings.size()) + " finding(s))"});
    updateLocked(entry, std::move(judged), log);
  } else {
    const auto retry = entry.retry.next();
    entry.next_due = mono_now + retry;
    auto next = entry.isolation;
    next.attempted_at = now;
    next.error = outcome.error().message;  // printable already (conclude())
    log.push_back(
        {true, "runtime class \"" + name + "\": isolation probe failed: " + next.error +
                   " (retried in " +
                   std::to_string(std::chrono::ceil<std::chrono::seconds>(retry).count()) + " s)"});
    updateLocked(entry, std::move(next), log);
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
  LogLines log;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = monotonic_.now();
    expireLocked(now, log);
    queueDueLocked(now);
    if (!log.empty()) {
      lock.unlock();
      emit(log);
      lock.lock();
      continue;  // read the book again: it may have changed meanwhile
    }
    if (!queue_.empty()) {
      const std::string name = queue_.front();
      queue_.pop_front();
      running_ = name;
      lock.unlock();
      spdlog::debug("runtime class \"{}\": probing its isolation", name);
      auto outcome = conclude(name, prober_.probe(name));
      lock.lock();
      running_.reset();
      if (stopping_) break;  // cut short: nothing learnt
      auto completed = recordLocked(name, std::move(outcome), clock_.now(), monotonic_.now(), log);
      lock.unlock();
      emit(log);
      for (auto& done : completed) done(ok());
      lock.lock();
      continue;
    }
    const auto wake_at = nextWakeLocked();
    auto sleep = std::chrono::duration_cast<std::chrono::milliseconds>(
        wake_at == MonotonicTime::max()
            ? kMaxSleep
            : std::min<std::chrono::nanoseconds>(wake_at - now, kMaxSleep));
    if (sleep < std::chrono::milliseconds(1)) sleep = std::chrono::milliseconds(1);
    // Woken early by a request, recheck() or shutdown(); the loop reads the clock again.
    wake_.wait_for(lock, sleep);
  }
}

}  // namespace zp::agent
