#include "agent/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zp::agent {
namespace {

int streamIndex(std::string_view stream) { return stream == "stderr" ? 1 : 0; }
std::string_view streamName(int index) { return index == 1 ? "stderr" : "stdout"; }

// The longest prefix of `text` of at most `max` bytes that does not end
// inside a UTF-8 sequence (when `text` is valid UTF-8).
std::size_t cutPoint(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text.size();
  std::size_t cut = max;
  for (int back = 0; back < 3 && cut > 0; ++back) {
    if ((static_cast<unsigned char>(text[cut]) & 0xC0) != 0x80) break;  // not a continuation
    --cut;
  }
  // Not UTF-8 after all (or a sequence longer than 4 bytes): cut where asked.
  if ((static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80 || cut == 0) return max;
  return cut;
}

Error ioError(const std::string& what) {
  return Error{Code::kInternal, what + ": " + std::strerror(errno), ""};
}

// Reads exactly [offset, offset + length) unless the file is shorter.
Result<std::string> readAt(int fd, std::uint64_t offset, std::size_t length) {
  std::string out(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    const ssize_t n = pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ioError("reading the log"));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<std::uint64_t> fileSize(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return fail(ioError("stat of the log"));
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

std::optional<CriLogLine> parseCriLogLine(std::string_view raw) {
  CriLogLine line;
  const auto first = raw.find(' ');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  line.time = raw.substr(0, first);
  const auto second = raw.find(' ', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  line.stream = raw.substr(first + 1, second - first - 1);
  if (line.stream != "stdout" && line.stream != "stderr") return std::nullopt;
  const auto tag = raw.substr(second + 1, 1);
  if (tag != "P" && tag != "F") return std::nullopt;
  line.partial = tag == "P";
  const auto rest = second + 2;  // after the tag
  if (rest < raw.size() && raw[rest] != ' ') return std::nullopt;
  line.content = rest < raw.size() ? raw.substr(rest + 1) : std::string_view{};
  // Cheap check that the time looks like RFC 3339: "YYYY-MM-DDTHH:MM:SS...".
  if (line.time.size() < 20 || line.time[4] != '-' || line.time[10] != 'T') return std::nullopt;
  return line;
}

Result<std::unique_ptr<LogReader>> LogReader::open(const std::string& path,
                                                   std::optional<std::string_view> stream,
                                                   const LogReaderLimits& limits) {
  if (stream && !protocol::isLogStream(*stream)) {
    return fail(Code::kInvalidArgument,
                "stream must be \"stdout\" or \"stderr\", not \"" +
                    std::string(stream->substr(0, 80)) + "\"",
                "stream");
  }
  if (limits.block_bytes == 0 || limits.read_budget_bytes == 0 ||
      limits.max_raw_line_bytes < kLogHeaderBytes || limits.max_line_bytes < 4) {
    return fail(Code::kInvalidArgument, "log reader limits below their minimums", "limits");
  }
  const int only = stream ? streamIndex(*stream) : -1;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return fail(Code::kNotFound, "no log file yet", "id");
    return fail(ioError("opening the log"));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(Code::kInternal, "the log is not a regular file");
  }
  return std::unique_ptr<LogReader>(new LogReader(fd, only, limits));
}

LogReader::~LogReader() {
  if (fd_ >= 0) ::close(fd_);
}

Status LogReader::seekTail(std::size_t records) {
  auto size = fileSize(fd_);
  if (!size) return fail(size.error());
  size_ = *size;
  raw_.clear();
  header_.reset();
  records_[0] = records_[1] = Record{};
  // `buf` holds [buf_start, buf_start + buf.size()): the block being scanned
  // plus the first header's worth of the data after it.
  std::string buf;
  std::uint64_t buf_start = size_;
  // Finds the last '\n' before `before`, reading earlier blocks as needed.
  auto previousNewline = [&](std::uint64_t before) -> Result<std::optional<std::uint64_t>> {
    while (true) {
      if (before > buf_start) {
        const std::string_view scanned(buf.data(), before - buf_start);
        if (const auto at = scanned.rfind('\n'); at != std::string_view::npos) {
          return std::optional<std::uint64_t>(buf_start + at);
        }
      }
      if (buf_start == 0) return std::optional<std::uint64_t>();
      const std::uint64_t start = buf_start > limits_.block_bytes ? buf_start - limits_.block_bytes : 0;
      auto block = readAt(fd_, start, buf_start - start);
      if (!block) return fail(block.error());
      buf = *block + buf.substr(0, std::min(buf.size(), kLogHeaderBytes));
      buf_start = start;
      before = std::min<std::uint64_t>(before, start + block->size());
    }
  };
  // The end of the complete lines: just after the last '\n'.
  auto last = previousNewline(size_);
  if (!last) return fail(last.error());
  if (!*last) {
    offset_ = 0;  // no complete line yet
    return ok();
  }
  std::uint64_t line_end = **last + 1;
  offset_ = line_end;
  if (records == 0) return ok();
  std::size_t counted = 0;
  bool seen[2] = {false, false};  // a line of the stream was passed (from the end)
  while (line_end > 0) {
    // The raw line [line_start, line_end) ends with '\n' at line_end - 1.
    auto before = previousNewline(line_end - 1);
    if (!before) return fail(before.error());
    const std::uint64_t line_start = *before ? **before + 1 : 0;
    const std::size_t head_len =
        static_cast<std::size_t>(std::min<std::uint64_t>(kLogHeaderBytes, line_end - 1 - line_start));
    const std::string_view head(buf.data() + (line_start - buf_start), head_len);
    // Reading backwards, a record begins (from its end) at its F piece (or
    // a line not in the CRI format, read as stdout); a stream's group of P
    // pieces after its last F piece is a record still being written.
    const auto parsed = parseCriLogLine(head);
    const int stream = parsed ? streamIndex(parsed->stream) : 0;
    const bool record_end = !parsed || !parsed->partial || !seen[stream];
    if (parsed) seen[stream] = true;  // (a line not in the CRI format joins no record)
    if (record_end && wanted(stream)) {
      if (++counted > records) return ok();  // offset_: just after this line
    }
    offset_ = line_start;
    line_end = line_start;
  }
  return ok();
}

void LogReader::append(int stream, std::string_view time, std::string_view content, bool last,
                       std::vector<protocol::LogLine>& out) {
  if (!wanted(stream)) return;  // dropped: a stream not selected is never kept
  auto& record = records_[stream];
  if (!record.open) record.time = std::string(time);
  record.open = true;
  record.content.append(content);
  // Longer than a line may be: emit cut pieces, partial.
  while (record.content.size() > limits_.max_line_bytes) {
    const auto cut = cutPoint(record.content, limits_.max_line_bytes);
    out.push_back({record.time, std::string(streamName(stream)), record.content.substr(0, cut), true});
    record.content.erase(0, cut);
  }
  if (last) {
    out.push_back({record.time, std::string(streamName(stream)), std::move(record.content), false});
    record = Record{};
  }
}

void LogReader::spillRawLine(std::vector<protocol::LogLine>& out) {
  std::string_view content = raw_;
  if (!header_) {
    if (const auto parsed = parseCriLogLine(raw_)) {
      header_ = Header{std::string(parsed->time), streamIndex(parsed->stream), parsed->partial};
      content = parsed->content;
    } else {
      header_ = Header{};  // not the CRI format: the bytes as they are, on stdout
    }
  }
  append(header_->stream, header_->time, content, /*last=*/false, out);
  raw_.clear();
}

void LogReader::endRawLine(std::vector<protocol::LogLine>& out) {
  if (header_) {
    // The rest of a spilled raw line.
    append(header_->stream, header_->time, raw_, !header_->partial, out);
  } else if (const auto parsed = parseCriLogLine(raw_)) {
    append(streamIndex(parsed->stream), parsed->time, parsed->content, !parsed->partial, out);
  } else if (wanted(0)) {
    // Not the CRI format: the bytes as they are, on stdout, cut into lines
    // of at most max_line_bytes (each but the last partial: continued).
    std::string_view rest = raw_;
    while (rest.size() > limits_.max_line_bytes) {
      const auto cut = cutPoint(rest, limits_.max_line_bytes);
      out.push_back({"", "stdout", std::string(rest.substr(0, cut)), true});
      rest.remove_prefix(cut);
    }
    out.push_back({"", "stdout", std::string(rest), false});
  }
  raw_.clear();
  header_.reset();
}

void LogReader::consume(std::string_view data, std::vector<protocol::LogLine>& out) {
  while (!data.empty()) {
    const auto nl = data.find('\n');
    raw_.append(data.substr(0, nl));
    if (nl == std::string_view::npos) {
      if (raw_.size() > limits_.max_raw_line_bytes) spillRawLine(out);
      return;
    }
    endRawLine(out);
    data.remove_prefix(nl + 1);
  }
}

void LogReader::flushOpen(std::vector<protocol::LogLine>& out) {
  if (!raw_.empty() || header_) {
    // A raw line without its '\n': what there is, as a partial line.
    if (!header_) spillRawLine(out);
    else append(header_->stream, header_->time, raw_, false, out);
    raw_.clear();
    header_.reset();
  }
  for (int stream = 0; stream < 2; ++stream) {
    auto& record = records_[stream];
    if (!record.open) continue;
    // Flushed: nothing follows it in this read's stream, so not partial.
    out.push_back({record.time, std::string(streamName(stream)), std::move(record.content), false});
    record = Record{};
  }
}

Status LogReader::seek(std::uint64_t offset) {
  auto size = fileSize(fd_);
  if (!size) return fail(size.error());
  size_ = *size;
  offset_ = offset <= size_ ? offset : 0;
  raw_.clear();
  header_.reset();
  records_[0] = records_[1] = Record{};
  return ok();
}

std::optional<std::uint64_t> LogReader::cleanOffset() const {
  if (!raw_.empty() || header_ || records_[0].open || records_[1].open) return std::nullopt;
  return offset_;
}

Result<std::uint64_t> LogReader::fileBytes() const { return fileSize(fd_); }

Result<std::vector<protocol::LogLine>> LogReader::read(std::size_t max_lines, bool flush) {
  auto size = fileSize(fd_);
  if (!size) return fail(size.error());
  if (*size < offset_) {
    // Truncated (or replaced in place): start over.
    offset_ = 0;
    raw_.clear();
    header_.reset();
    records_[0] = records_[1] = Record{};
  }
  size_ = *size;
  std::vector<protocol::LogLine> out;
  std::size_t budget = limits_.read_budget_bytes;
  while (offset_ < size_ && out.size() < max_lines && budget > 0) {
    const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(limits_.block_bytes, size_ - offset_));
    auto block = readAt(fd_, offset_, length);
    if (!block) return fail(block.error());
    if (block->empty()) {
      size_ = offset_;  // shrank meanwhile
      break;
    }
    offset_ += block->size();
    budget -= std::min(budget, block->size());
    consume(*block, out);
  }
  if (flush && offset_ >= size_) flushOpen(out);
  return out;
}

}  // namespace zp::agent
