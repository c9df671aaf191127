#pragma once
// Bounded, best-effort reads for the probe's collectors, and the list of what
// could not be read (Report::unreadable). Single-threaded use.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace zp::probe {

// The outcome of reading a file: its first bytes, or the errno of the failure.
struct FileText {
  std::string text;
  int error = 0;           // 0 on success
  bool truncated = false;  // the file had more than `max_bytes`
  bool ok() const { return error == 0; }
};

// Opens `path` read-only (O_NONBLOCK, O_NOCTTY, O_CLOEXEC: a FIFO or a tty
// never blocks the probe) and reads at most `max_bytes`.
FileText readFileBounded(const std::string& path, std::size_t max_bytes);

// strerror(err) as a string.
std::string errorText(int err);

// Report::unreadable, bounded by kMaxUnreadable: "<path>: <why>".
class Notes {
 public:
  void failed(std::string_view path, int err);
  void add(std::string_view path, std::string_view why);
  std::vector<std::string> take() { return std::move(entries_); }

 private:
  std::vector<std::string> entries_;
  bool overflowed_ = false;
};

}  // namespace zp::probe
