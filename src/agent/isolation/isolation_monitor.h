#pragma once
// IsolationMonitor: the node's verification of each of its runtime classes
// (docs/architecture.md §10.2). It owns the book of ClassIsolation entries,
// their revision and the probe schedule:
//   - every class is probed at start(), then again an interval after its
//     last success, and on request (request(): ProbeIsolation); a failed
//     attempt is retried after kRetryInitial, doubling up to the interval;
//   - one probe at a time (its own thread; the Prober blocks); a request for
//     a class whose probe is queued or running joins that probe;
//   - a successful probe is judged against the host's facts (verdict.h); a
//     failed one keeps the previous result and sets `error` (printable
//     ASCII, at most api::kMaxIsolationErrorLength: a probe's stderr is
//     untrusted) and `attempted_at`; a result older than three intervals
//     becomes unverified;
//   - a class verified below its claim is quarantined: logged as a warning
//     when that changes (an unverified result changes nothing: it neither
//     quarantines nor releases);
//   - every change of any entry bumps the revision (from 1, never reused by
//     one process).
// Without a probe image (Options::enabled false) nothing runs: every class
// stays unverified with an error that says why (a warning is logged once).
//
// Time: the schedule and the age of a result follow the MonotonicClock (a
// wall clock stepped back or forth neither delays a probe nor keeps a stale
// result fresh); the wall Clock only dates verified_at and attempted_at.
//
// Threading: every public method is thread-safe. view(), revision() and
// request() only take the book's mutex, which is never held during a probe,
// a verdict or logging: the network executor may call them. request()'s
// callback runs on the monitor's thread (or the caller's, when it completes
// at once, or shutdown()'s): it must only hand the outcome over. The wait
// between probes is interrupted by requests, recheck() and shutdown().

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/isolation/probe_runner.h"
#include "api/isolation.h"
#include "common/backoff.h"
#include "common/status.h"
#include "common/time.h"
#include "probe/report.h"

namespace zp::agent {

class IsolationMonitor {
 public:
  struct ClassClaim {
    std::string name;
    std::optional<api::IsolationLevel> claim;  // [runtime_classes.NAME] isolation
  };
  // The first retry of a failed probe; later ones double up to the interval.
  static constexpr std::chrono::seconds kRetryInitial{10};

  struct Options {
    std::vector<ClassClaim> classes;     // every offered class
    std::chrono::seconds interval{600};  // [probe] interval_seconds
    bool enabled = true;                 // a probe image is configured
    // The host's own facts (probe::collectHostFacts()); collected by start()
    // when unset.
    std::optional<probe::Report> host;
  };
  struct View {
    std::int64_t revision = 0;
    std::vector<api::ClassIsolation> classes;  // every class, sorted by name
  };

  // Uses (does not own) `prober` and the clocks, which must outlive the
  // monitor: `clock` dates results, `monotonic` schedules and ages them.
  IsolationMonitor(Options options, Prober& prober, const Clock& clock,
                   const MonotonicClock& monotonic);
  ~IsolationMonitor();  // stop()
  IsolationMonitor(const IsolationMonitor&) = delete;
  IsolationMonitor& operator=(const IsolationMonitor&) = delete;

  // Starts the probe thread: every class is probed at once, one after the
  // other. Call once.
  void start();
  // Begins stopping without waiting: ends the probe in progress
  // (Prober::cancel(); its sandbox is still removed), fails waiting requests
  // with kUnavailable. Idempotent.
  void shutdown();
  // Whether a probe is running (after shutdown(): still cleaning up).
  bool busy() const;
  // shutdown(), then joins the thread. Idempotent.
  void stop();

  // The book now (results too old are made unverified first).
  View view();
  std::int64_t revision();
  bool offers(const std::string& runtime_class) const;

  // Probes `runtime_class` ("" = every class) as soon as the probe before it
  // is done, joining a probe of the class already queued or running; `done`
  // gets OK once every probe asked for has ended (failed ones included: the
  // book says how), kNotFound at once for a class the node does not offer,
  // OK at once when probing is disabled, kUnavailable when stopped.
  void request(const std::string& runtime_class, std::function<void(Status)> done);

  // When the schedule probes `runtime_class` next (monotonic time); nullopt
  // for a class not offered, or before start().
  std::optional<MonotonicTime> nextProbe(const std::string& runtime_class) const;

  // Makes the probe thread read its clock again now (a test that moved it).
  void recheck();

 private:
  struct Waiter {
    std::set<std::string> pending;  // classes whose probe has yet to end
    std::function<void(Status)> done;
  };
  struct Entry {
    explicit Entry(std::chrono::seconds interval) : retry(kRetryInitial, interval) {}
    api::ClassIsolation isolation;
    MonotonicTime next_due{};                    // when the schedule probes the class next
    std::optional<MonotonicTime> verified_mono;  // the last success, for its age
    Backoff retry;                               // delays after failed attempts
    // Whether the class's quarantine was last logged as begun (a release is
    // logged only after one, and only by a verified result).
    bool quarantine_logged = false;
  };
  // Log lines composed under the mutex, written once it is released.
  struct LogLine {
    bool warning = false;
    std::string text;
  };
  using LogLines = std::vector<LogLine>;
  static void emit(LogLines& lines);

  void run();
  // The verdict on a probe's outcome (no lock: pure, and host_ is the
  // thread's): the judged isolation, or the failure as printable text.
  Result<api::ClassIsolation> conclude(const std::string& name,
                                       const Result<probe::Report>& report) const;
  // Turns results older than three intervals into unverified ones.
  void expireLocked(MonotonicTime now, LogLines& log);
  // Queues the classes that are due and neither queued nor running.
  void queueDueLocked(MonotonicTime now);
  bool queuedOrRunningLocked(const std::string& name) const;
  // Records the end of `name`'s probe; returns the requests it completed.
  std::vector<std::function<void(Status)>> recordLocked(const std::string& name,
                                                        Result<api::ClassIsolation> outcome,
                                                        TimePoint now, MonotonicTime mono_now,
                                                        LogLines& log);
  // Replaces an entry's isolation; bumps the revision and notes a change of
  // quarantine when it changed.
  void updateLocked(Entry& entry, api::ClassIsolation next, LogLines& log);
  // The next time the thread has something to do (a class due, a result
  // expiring).
  MonotonicTime nextWakeLocked() const;

  const Options options_;
  Prober& prober_;
  const Clock& clock_;
  const MonotonicClock& monotonic_;
  probe::Report host_;  // set by start() before the thread runs; read only there

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Entry> book_;
  std::int64_t revision_ = 1;
  std::deque<std::string> queue_;
  std::optional<std::string> running_;
  std::list<Waiter> waiters_;
  bool started_ = false;
  bool stopping_ = false;
  std::mutex join_mutex_;  // one stop() joins the thread at a time
  std::thread thread_;
};

}  // namespace zp::agent
