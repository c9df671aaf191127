#pragma once
// LogReader: reads a container log in the CRI log format (docs/architecture.md
// §3, Logs). Each raw line is
//   <RFC 3339 time with nanoseconds> <stdout|stderr> <P|F> <content>\n
// where P marks a partial line the runtime split and F the full line's last
// piece. A record is the P pieces of one stream followed by its F piece,
// joined; it becomes one protocol::LogLine, or several when it is longer than
// protocol::kMaxLogLineBytes (every piece but the last then has partial set).
//
// Pure file reading: blocking, no threads, memory bounded by a few blocks
// whatever the file holds (lines of a stream not selected are dropped as they
// are read, never kept). One reader per stream of lines; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/messages.h"

namespace zp::agent {

// One raw line of a CRI log, split (views into the line).
struct CriLogLine {
  std::string_view time;
  std::string_view stream;  // "stdout" or "stderr"
  bool partial = false;     // tag P
  std::string_view content;
};
// Parses a raw line (without '\n'); nullopt when it is not in the CRI format.
std::optional<CriLogLine> parseCriLogLine(std::string_view raw);

// The reader's sizes. The defaults are the agent's; tests and the fuzz target
// give small ones to reach the same boundaries (blocks, read budget, raw line
// limit, line cuts) with small files.
struct LogReaderLimits {
  // The bytes one pread asks for; seekTail reads backwards in such blocks.
  std::size_t block_bytes = 64 * 1024;
  // One read() stops once it has read this many bytes (a filtered reader may
  // find none of its lines in them), so no call keeps a worker thread long.
  std::size_t read_budget_bytes = 16 * 64 * 1024;
  // A raw line longer than this (no '\n' within it) is consumed piecewise;
  // at least kLogHeaderBytes.
  std::size_t max_raw_line_bytes = 1 << 20;
  // The longest protocol::LogLine::line returned; at least 4 (one UTF-8
  // sequence).
  std::size_t max_line_bytes = protocol::kMaxLogLineBytes;
};
// A raw line's header ("<time> <stream> <tag> ") fits in this many bytes.
inline constexpr std::size_t kLogHeaderBytes = 64;

class LogReader {
 public:
  // Opens the log at `path` for reading; kNotFound when there is none (yet).
  // With `stream` ("stdout" or "stderr", else kInvalidArgument) the reader
  // sees only that stream: seekTail counts its records and read() returns
  // its lines (a raw line not in the CRI format counts as stdout); without
  // it, both streams. kInvalidArgument for `limits` below their minimums.
  static Result<std::unique_ptr<LogReader>> open(
      const std::string& path, std::optional<std::string_view> stream = std::nullopt,
      const LogReaderLimits& limits = {});
  ~LogReader();
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // Positions the reader at the start of the last `records` records (of the
  // selected stream) of what the file holds now, reading backwards from its
  // end in blocks (a huge file is never read whole). A stream's trailing
  // group of P pieces counts as a record. An incomplete last raw line (no
  // '\n' yet) is read later.
  Status seekTail(std::size_t records);

  // The records (of the selected stream) complete in the file from the
  // current position, about `max_lines` at most (a block's worth more at
  // worst). One call reads at most about read_budget_bytes (a MiB by
  // default): it may return no line before the end of the file (drained()
  // says whether it got there). A record whose F piece is not written yet,
  // and a raw line without its '\n', wait for a later read, unless `flush`
  // and the end is reached: then they are returned as they are, ending there
  // (partial unset: `partial` always means "continued by the next line of
  // the stream", never "the runtime had not finished it"). A file that
  // shrank is read again from its start.
  Result<std::vector<protocol::LogLine>> read(std::size_t max_lines, bool flush);

  // Positions the reader at byte `offset` of the file, which must start a
  // raw line: a position cleanOffset() gave. An offset past the end of the
  // file now reads it from its start (it was replaced).
  Status seek(std::uint64_t offset);
  // The position after the last read() when it ends on whole records (no
  // raw line or record begun and not returned): where seek() resumes right
  // after the lines returned so far. nullopt in the middle of a record.
  std::optional<std::uint64_t> cleanOffset() const;

  // The file's size now (fstat of the reader's own descriptor).
  Result<std::uint64_t> fileBytes() const;

  // Whether the last read() reached the end of the file as it was then.
  bool drained() const { return offset_ >= size_; }

 private:
  LogReader(int fd, int only, const LogReaderLimits& limits)
      : fd_(fd), only_(only), limits_(limits) {}
  // Whether the reader returns the lines of stream index `stream`.
  bool wanted(int stream) const { return only_ < 0 || only_ == stream; }
  struct Record {
    std::string time;
    std::string content;
    bool open = false;  // a P piece was read and the F piece is still to come
  };
  // Splits `data` into raw lines and turns them into records.
  void consume(std::string_view data, std::vector<protocol::LogLine>& out);
  // A complete raw line (raw_, header_) ends: adds it to its stream's record.
  void endRawLine(std::vector<protocol::LogLine>& out);
  // A raw line too long to hold: its header is parsed and its content so far
  // moved into the record (a runtime configured without a line size limit).
  void spillRawLine(std::vector<protocol::LogLine>& out);
  // Appends to `stream`'s record and emits the full pieces; `last` ends it.
  void append(int stream, std::string_view time, std::string_view content, bool last,
              std::vector<protocol::LogLine>& out);
  void flushOpen(std::vector<protocol::LogLine>& out);

  int fd_ = -1;
  int only_ = -1;             // the selected stream (0 stdout, 1 stderr); -1: both
  LogReaderLimits limits_;
  std::uint64_t offset_ = 0;  // next byte to read
  std::uint64_t size_ = 0;    // the file's size at the last read
  std::string raw_;           // the current raw line, not yet ended
  // Set once the current raw line's header was parsed (spillRawLine).
  struct Header {
    std::string time;
    int stream = 0;  // 0 stdout, 1 stderr
    bool partial = false;
  };
  std::optional<Header> header_;
  Record records_[2];  // stdout, stderr
};

}  // namespace zp::agent
