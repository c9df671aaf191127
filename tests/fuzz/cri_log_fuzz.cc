// Fuzz target: the agent's reader of CRI container logs (agent/log_reader.h).
// The log file is written by the runtime from a workload's output, so its
// content is the workload's to choose. Each input is a log file (optionally
// repeated, to cross the reader's 64 KiB blocks and its 1 MiB raw line
// limit) that is read as `zoneplane logs` does: from the start while the
// runtime is still appending (in two writes), and from a tail position, each
// with and without a stream selected.
//
// Input: byte 0 = options (bits 0-1 stream: both/stdout/stderr; bits 2-5
// repeat: 14 = x40, 15 = x300, else x1), byte 1 = tail records, byte 2 = where the file
// is split between the two writes, byte 3 = max lines per read; the rest is
// the file.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/log_reader.h"
#include "fuzz_check.h"

using zp::fuzz::check;

namespace {

// One private file for the process's inputs (libFuzzer runs them one at a
// time), in memory when /dev/shm is there; removed at exit.
const std::string& logPath() {
  static const std::string path = [] {
    std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm/zp-cri-log-fuzz-XXXXXX"
                                                    : "/tmp/zp-cri-log-fuzz-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    static std::string file;
    file = dir + "/container.log";
    std::atexit([] {
      ::unlink(file.c_str());
      ::rmdir(file.substr(0, file.rfind('/')).c_str());
    });
    return file;
  }();
  return path;
}

void writeFile(std::string_view data, bool append) {
  const int fd = ::open(logPath().c_str(),
                        O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
  check(fd >= 0, "the fuzz log file opens");
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    check(n > 0, "the fuzz log file takes the data");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
}

void checkLines(const std::vector<zp::protocol::LogLine>& lines,
                std::optional<std::string_view> stream) {
  for (const auto& line : lines) {
    check(line.line.size() <= zp::protocol::kMaxLogLineBytes, "a log line is at most the limit");
    check(zp::protocol::isLogStream(line.stream), "a log line names its stream", line.stream);
    check(!stream || line.stream == *stream, "a filtered reader returns its stream only",
          line.stream);
  }
}

// Reads until the end of the file as it is now; every call must make progress.
std::size_t drain(zp::agent::LogReader& reader, std::size_t max_lines, bool flush,
                  std::optional<std::string_view> stream, std::size_t file_bytes) {
  std::size_t lines = 0;
  // Each call reads at least one block (64 KiB) unless it has max_lines.
  const std::size_t max_calls = file_bytes / 1024 + 8 + file_bytes * 2;
  for (std::size_t calls = 0;; ++calls) {
    check(calls <= max_calls, "reading the log makes progress");
    auto got = reader.read(max_lines, flush);
    check(got.has_value(), "reading a regular file succeeds");
    checkLines(*got, stream);
    lines += got->size();
    if (reader.drained() && got->size() < max_lines) break;
  }
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::uint8_t options = data[0];
  const std::size_t tail = data[1];
  const std::size_t max_lines = 1 + data[3];
  std::string_view one(reinterpret_cast<const char*>(data) + 4, size - 4);

  // Every raw line alone, as the tail search and the reader see it.
  for (std::string_view rest = one; !rest.empty();) {
    const auto nl = rest.find('\n');
    if (auto parsed = zp::agent::parseCriLogLine(rest.substr(0, nl))) {
      check(zp::protocol::isLogStream(parsed->stream), "a parsed line has a stream");
      check(parsed->time.size() >= 20, "a parsed line has a time");
    }
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }

  const unsigned repeat_code = (options >> 2) & 15;
  const std::size_t repeats = repeat_code == 15 ? 300 : repeat_code == 14 ? 40 : 1;
  std::string file;
  file.reserve(one.size() * repeats);
  for (std::size_t i = 0; i < repeats; ++i) file.append(one);

  std::optional<std::string_view> stream;
  if ((options & 3) == 1) stream = "stdout";
  if ((options & 3) == 2) stream = "stderr";

  // Followed from the start while the runtime appends.
  const std::size_t split = file.size() * data[2] / 256;
  writeFile(std::string_view(file).substr(0, split), false);
  auto reader = zp::agent::LogReader::open(logPath(), stream);
  check(reader.has_value(), "the log opens");
  drain(**reader, max_lines, false, stream, file.size());
  writeFile(std::string_view(file).substr(split), true);
  drain(**reader, max_lines, false, stream, file.size());
  drain(**reader, max_lines, true, stream, file.size());

  // From the last `tail` records of the whole file.
  auto tailed = zp::agent::LogReader::open(logPath(), stream);
  check(tailed.has_value(), "the log opens again");
  check((*tailed)->seekTail(tail).has_value(), "seeking the tail of a regular file succeeds");
  drain(**tailed, max_lines, true, stream, file.size());

  // The runtime rotated the file to something shorter: read again from its start.
  writeFile(one.substr(0, one.size() / 2), false);
  drain(**tailed, max_lines, true, stream, file.size());
  return 0;
}
