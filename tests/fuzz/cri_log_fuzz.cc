// Fuzz target: the agent's reader of CRI container logs (agent/log_reader.h).
// The log file is written by the runtime from a workload's output, so its
// content is the workload's to choose. Each input is a log file that is read
// as `zoneplane logs` does: from the start while the runtime is still
// appending (in two writes), and from a tail position, each with and without
// a stream selected. The reader's sizes (block, read budget, raw line limit,
// line cut) are chosen by the input among small ones and the agent's own, so
// inputs of a few hundred bytes cross the same boundaries as megabytes do
// with the agent's 64 KiB blocks and 1 MiB raw lines.
//
// Input: byte 0 = options (bits 0-1 stream: both/stdout/stderr; bits 2-3
// block size, bits 4-5 raw line limit, bits 6-7 line cut, each 3 = the
// agent's), byte 1 = tail records, byte 2 = where the file is split between
// the two writes, byte 3 = max lines per read; the rest is the file.

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

// The sizes byte 0 selects; code 3 is the agent's default for each.
zp::agent::LogReaderLimits limitsFor(std::uint8_t options) {
  static constexpr std::size_t kBlocks[] = {8, 31, 128};
  static constexpr std::size_t kRawLines[] = {zp::agent::kLogHeaderBytes, 100, 300};
  static constexpr std::size_t kLines[] = {4, 16, 100};
  zp::agent::LogReaderLimits limits;
  const unsigned block = (options >> 2) & 3, raw = (options >> 4) & 3, cut = (options >> 6) & 3;
  if (block < 3) {
    limits.block_bytes = kBlocks[block];
    limits.read_budget_bytes = 16 * kBlocks[block];  // the agent's ratio
  }
  if (raw < 3) limits.max_raw_line_bytes = kRawLines[raw];
  if (cut < 3) limits.max_line_bytes = kLines[cut];
  return limits;
}

void checkLines(const std::vector<zp::protocol::LogLine>& lines,
                std::optional<std::string_view> stream, const zp::agent::LogReaderLimits& limits) {
  for (const auto& line : lines) {
    check(line.line.size() <= limits.max_line_bytes, "a log line is at most the limit");
    check(zp::protocol::isLogStream(line.stream), "a log line names its stream", line.stream);
    check(!stream || line.stream == *stream, "a filtered reader returns its stream only",
          line.stream);
  }
}

// Reads until the end of the file as it is now; every call must make progress.
std::size_t drain(zp::agent::LogReader& reader, std::size_t max_lines, bool flush,
                  std::optional<std::string_view> stream, std::size_t file_bytes,
                  const zp::agent::LogReaderLimits& limits) {
  std::size_t lines = 0;
  // Each call reads at least one block (of at least a byte) unless it has
  // max_lines, and a byte makes at most about two lines.
  const std::size_t max_calls = 8 + file_bytes * 2;
  for (std::size_t calls = 0;; ++calls) {
    check(calls <= max_calls, "reading the log makes progress");
    auto got = reader.read(max_lines, flush);
    check(got.has_value(), "reading a regular file succeeds");
    checkLines(*got, stream, limits);
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

  const auto limits = limitsFor(options);
  const std::string file(one);

  std::optional<std::string_view> stream;
  if ((options & 3) == 1) stream = "stdout";
  if ((options & 3) == 2) stream = "stderr";

  // Followed from the start while the runtime appends.
  const std::size_t split = file.size() * data[2] / 256;
  writeFile(std::string_view(file).substr(0, split), false);
  auto reader = zp::agent::LogReader::open(logPath(), stream, limits);
  check(reader.has_value(), "the log opens");
  drain(**reader, max_lines, false, stream, file.size(), limits);
  writeFile(std::string_view(file).substr(split), true);
  drain(**reader, max_lines, false, stream, file.size(), limits);
  drain(**reader, max_lines, true, stream, file.size(), limits);

  // From the last `tail` records of the whole file.
  auto tailed = zp::agent::LogReader::open(logPath(), stream, limits);
  check(tailed.has_value(), "the log opens again");
  check((*tailed)->seekTail(tail).has_value(), "seeking the tail of a regular file succeeds");
  drain(**tailed, max_lines, true, stream, file.size(), limits);

  // The runtime rotated the file to something shorter: read again from its start.
  writeFile(one.substr(0, one.size() / 2), false);
  drain(**tailed, max_lines, true, stream, file.size(), limits);
  return 0;
}
