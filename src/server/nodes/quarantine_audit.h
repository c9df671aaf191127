#pragma once
// The rate limit of one node's quarantine audit entries and log lines
// (docs/architecture.md §10.3): at most one entry per runtime class per
// `interval` of the server's monotonic clock, so an agent whose class flips
// on every heartbeat cannot flood the audit table or the log.
//
// A change of a class that had an entry less than `interval` ago is held
// (a later held change of the class replaces it and is counted as
// suppressed); once the interval is over, due() hands the held change out,
// so the last entry of a class always tells its current state, noting how
// many changes were suppressed before it. Pure: no I/O, no clock of its own.
// Not thread-safe.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace zp::server {

class QuarantineAudit {
 public:
  struct Entry {
    std::string runtime_class;
    std::string action;  // "isolation.quarantined" or "isolation.released"
    std::string target;  // "<class> (<level>, claim <claim>)" or "<class> (no longer reported)"
    std::string log;     // the log line (made only of checked names)
    bool warning = false;  // logged as a warning (a quarantine), else as info
    // Changes of the class since its previous entry that got none of their own.
    int suppressed = 0;
  };

  explicit QuarantineAudit(std::chrono::milliseconds interval) : interval_(interval) {}

  // A change at `now`: the entry to write now, or nullopt when it is held
  // (the class had an entry less than `interval` ago).
  std::optional<Entry> change(Entry entry, MonotonicTime now);
  // The held entries whose class's interval is over at `now`, to write now.
  std::vector<Entry> due(MonotonicTime now);
  // Every held entry, whatever its time (the node goes away).
  std::vector<Entry> takeAll();
  bool holding() const { return holding_ > 0; }

  // The text entries carry about suppressed changes ("" for none):
  // "; 3 changes suppressed".
  static std::string suppressedNote(int suppressed);

 private:
  struct ClassState {
    MonotonicTime last_entry;
    std::optional<Entry> held;
    int superseded = 0;  // held changes replaced by a later one
  };
  Entry release(ClassState& state, MonotonicTime now);

  std::chrono::milliseconds interval_;
  std::map<std::string, ClassState, std::less<>> classes_;
  int holding_ = 0;  // classes with a held entry
};

}  // namespace zp::server
