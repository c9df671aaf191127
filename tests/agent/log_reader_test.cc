// LogReader on real files in a private temporary directory: parsing CRI log
// lines, joining partial pieces, cutting long lines, the tail read backwards,
// following a file as it grows, and a reader limited to one stream.

#include "agent/log_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace zp::agent {
namespace {

constexpr const char* kTime = "2026-11-29T13:40:31.123456789Z";

std::string line(std::string_view stream, char tag, std::string_view content) {
  return std::string(kTime) + " " + std::string(stream) + " " + tag + " " + std::string(content) +
         "\n";
}

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/zp-log-reader-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = (dir_ / "main.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& text, bool append = true) {
    std::ofstream out(path_, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
    out << text;
  }
  std::unique_ptr<LogReader> open(std::optional<std::string_view> stream = std::nullopt,
                                  const LogReaderLimits& limits = {}) {
    auto reader = LogReader::open(path_, stream, limits);
    EXPECT_TRUE(reader.has_value()) << reader.error().toString();
    return reader ? std::move(*reader) : nullptr;
  }
  // Everything readable now (flushed as when not following): reads until a
  // read reaches the end of the file and finds nothing new.
  static std::vector<protocol::LogLine> all(LogReader& reader, bool flush = true) {
    std::vector<protocol::LogLine> out;
    while (true) {
      auto batch = reader.read(100, flush);
      EXPECT_TRUE(batch.has_value()) << batch.error().toString();
      if (!batch || (batch->empty() && reader.drained())) return out;
      out.insert(out.end(), batch->begin(), batch->end());
    }
  }
  // The tail of `n` records of `stream` (both: nullopt), flushed.
  std::vector<std::string> tail(std::size_t n, std::optional<std::string_view> stream,
                                const LogReaderLimits& limits = {}) {
    auto reader = open(stream, limits);
    if (!reader) return {"open failed"};
    auto sought = reader->seekTail(n);
    EXPECT_TRUE(sought.has_value()) << sought.error().toString();
    return texts(all(*reader));
  }
  static std::vector<std::string> texts(const std::vector<protocol::LogLine>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l.line);
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST(CriLogLineTest, ParsesTheFourFields) {
  // (The result views the line: the lines are kept.)
  const std::string full = std::string(kTime) + " stdout F hello world";
  auto l = parseCriLogLine(full);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->time, kTime);
  EXPECT_EQ(l->stream, "stdout");
  EXPECT_FALSE(l->partial);
  EXPECT_EQ(l->content, "hello world");
  const std::string piece = std::string(kTime) + " stderr P  two  spaces ";
  auto p = parseCriLogLine(piece);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->stream, "stderr");
  EXPECT_TRUE(p->partial);
  EXPECT_EQ(p->content, " two  spaces ");
  // An empty line, with or without the space after the tag.
  const std::string empty = std::string(kTime) + " stdout F ";
  const std::string bare = std::string(kTime) + " stdout F";
  EXPECT_EQ(parseCriLogLine(empty)->content, "");
  EXPECT_EQ(parseCriLogLine(bare)->content, "");
  for (const std::string& bad : std::vector<std::string>
       {std::string("hello"), std::string(kTime) + " stdin F x", std::string(kTime) + " stdout X x",
        std::string(kTime) + " stdout Fx", std::string("12:00 stdout F x"), std::string(""),
        std::string(" stdout F x")}) {
    EXPECT_FALSE(parseCriLogLine(bad).has_value()) << bad;
  }
}

TEST_F(LogReaderTest, AMissingFileIsNotFound) {
  auto reader = LogReader::open(path_);
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().code, Code::kNotFound);
}

TEST_F(LogReaderTest, ReadsRecordsJoiningPartialPiecesPerStream) {
  write(line("stdout", 'F', "one") + line("stdout", 'P', "tw") + line("stderr", 'F', "err") +
        line("stdout", 'P', "o ") + line("stdout", 'F', "joined") + "not a cri line\n" +
        line("stdout", 'F', ""));
  auto reader = open();
  ASSERT_TRUE(reader);
  const auto lines = all(*reader);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].line, "one");
  EXPECT_EQ(lines[0].time, kTime);
  EXPECT_EQ(lines[0].stream, "stdout");
  EXPECT_EQ(lines[1].line, "err");
  EXPECT_EQ(lines[1].stream, "stderr");
  EXPECT_EQ(lines[2].line, "two joined");
  EXPECT_FALSE(lines[2].partial);
  EXPECT_EQ(lines[3].line, "not a cri line");
  EXPECT_EQ(lines[3].time, "");
  EXPECT_EQ(lines[4].line, "");
  EXPECT_TRUE(reader->drained());
}

TEST_F(LogReaderTest, ALongRecordIsCutIntoPartialPiecesOnCharacterBoundaries) {
  // 3 x 7000 bytes of 3-byte characters in P pieces, then F: 21,000 bytes.
  std::string euro;
  for (int i = 0; i < 7000 / 3 + 1; ++i) euro += "\xe2\x82\xac";
  euro.resize(7002);  // whole characters
  write(line("stdout", 'P', euro) + line("stdout", 'P', euro) + line("stdout", 'F', euro));
  auto reader = open();
  ASSERT_TRUE(reader);
  const auto lines = all(*reader);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].partial);
  EXPECT_FALSE(lines[1].partial);
  EXPECT_LE(lines[0].line.size(), protocol::kMaxLogLineBytes);
  EXPECT_EQ(lines[0].line.size() % 3, 0u);  // never inside a character
  EXPECT_EQ(lines[0].line + lines[1].line, euro + euro + euro);
}

TEST_F(LogReaderTest, AnUnfinishedLineWaitsUnlessFlushed) {
  write(line("stdout", 'F', "done") + line("stdout", 'P', "half") +
        std::string(kTime) + " stdout F no newline yet");
  auto reader = open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(texts(all(*reader, /*flush=*/false)), std::vector<std::string>{"done"});
  // The runtime finishes the line: the record is complete.
  write("\n");
  EXPECT_EQ(texts(all(*reader, false)), std::vector<std::string>{"halfno newline yet"});
  // Flushed: what is pending comes out as it is, and ends there (not
  // partial: no piece continues it).
  write(line("stderr", 'P', "cut short") + std::string(kTime) + " stdout F tail");
  const auto flushed = all(*reader, /*flush=*/true);
  ASSERT_EQ(flushed.size(), 2u);
  EXPECT_EQ(flushed[0].line, "tail");
  EXPECT_FALSE(flushed[0].partial);
  EXPECT_EQ(flushed[1].line, "cut short");
  EXPECT_EQ(flushed[1].stream, "stderr");
  EXPECT_FALSE(flushed[1].partial);
}

TEST_F(LogReaderTest, FollowsAGrowingFileAndRestartsAfterATruncation) {
  write(line("stdout", 'F', "a"));
  auto reader = open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(texts(all(*reader, false)), std::vector<std::string>{"a"});
  EXPECT_TRUE(all(*reader, false).empty());
  write(line("stdout", 'F', "b") + line("stdout", 'F', "c"));
  EXPECT_EQ(texts(all(*reader, false)), (std::vector<std::string>{"b", "c"}));
  write(line("stdout", 'F', "x"), /*append=*/false);
  EXPECT_EQ(texts(all(*reader, false)), std::vector<std::string>{"x"});
}

// A follow taken up again: the position after whole records, and a new
// reader sought there, reads on from the next record.
TEST_F(LogReaderTest, AReaderSoughtToACleanOffsetReadsOnFromThere) {
  write(line("stdout", 'F', "a") + line("stderr", 'F', "b"));
  auto first = open();
  ASSERT_TRUE(first);
  EXPECT_EQ(texts(all(*first, false)), (std::vector<std::string>{"a", "b"}));
  const auto clean = first->cleanOffset();
  ASSERT_TRUE(clean.has_value());
  EXPECT_EQ(*clean, std::filesystem::file_size(path_));
  // In the middle of a record (its P piece read, its F piece to come), or of
  // a raw line, there is no clean offset.
  write(line("stdout", 'P', "c1"));
  EXPECT_TRUE(all(*first, false).empty());
  EXPECT_FALSE(first->cleanOffset().has_value());
  write(line("stdout", 'F', "c2") + std::string(kTime) + " stdout F d");
  EXPECT_EQ(texts(all(*first, false)), std::vector<std::string>{"c1c2"});
  EXPECT_FALSE(first->cleanOffset().has_value());

  auto again = open();
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->seek(*clean).has_value());
  write("\n");
  EXPECT_EQ(texts(all(*again, false)), (std::vector<std::string>{"c1c2", "d"}));
  EXPECT_EQ(again->cleanOffset(), std::filesystem::file_size(path_));
  // An offset past the end (the file was replaced): from its start.
  auto replaced = open();
  ASSERT_TRUE(replaced);
  ASSERT_TRUE(replaced->seek(std::filesystem::file_size(path_) + 1).has_value());
  EXPECT_EQ(all(*replaced, false).size(), 4u);
}

TEST_F(LogReaderTest, TailCountsRecordsFromTheEnd) {
  write(line("stdout", 'F', "1") + line("stdout", 'P', "2a") + line("stdout", 'F', "2b") +
        line("stdout", 'F', "3") + line("stdout", 'P', "4a") + line("stdout", 'F', "4b") +
        line("stdout", 'P', "5 still being written"));
  for (std::size_t n : {0, 1, 2, 3, 5, 100}) {
    auto reader = open();
    ASSERT_TRUE(reader);
    ASSERT_TRUE(reader->seekTail(n).has_value());
    const std::vector<std::string> everything = {"1", "2a2b", "3", "4a4b", "5 still being written"};
    std::vector<std::string> want(everything.end() - std::min(n, everything.size()),
                                  everything.end());
    EXPECT_EQ(texts(all(*reader)), want) << "tail " << n;
  }
  // Following from the tail, the group still being written completes.
  auto reader = open();
  ASSERT_TRUE(reader->seekTail(1).has_value());
  EXPECT_TRUE(all(*reader, false).empty());
  write(line("stdout", 'F', "!"));
  EXPECT_EQ(texts(all(*reader, false)), std::vector<std::string>{"5 still being written!"});
}

TEST_F(LogReaderTest, TailOfABigFileReadsOnlyItsEnd) {
  // ~1.5 MB over many blocks; the tail crosses block boundaries.
  std::string text;
  for (int i = 0; i < 20'000; ++i) text += line(i % 2 ? "stderr" : "stdout", 'F', "line " + std::to_string(i) + std::string(i % 50, '.'));
  text += std::string(kTime) + " stdout F incomplete";
  write(text);
  for (std::size_t n : {1, 3, 1000, 12'345, 20'000, 30'000}) {
    auto reader = open();
    ASSERT_TRUE(reader);
    ASSERT_TRUE(reader->seekTail(n).has_value());
    const auto lines = all(*reader, /*flush=*/false);
    const std::size_t want = std::min<std::size_t>(n, 20'000);
    ASSERT_EQ(lines.size(), want) << "tail " << n;
    const int first = static_cast<int>(20'000 - want);
    EXPECT_EQ(lines.front().line, "line " + std::to_string(first) + std::string(first % 50, '.'));
    EXPECT_EQ(lines.back().line, "line 19999" + std::string(19'999 % 50, '.'));
  }
  // A long line whose header is in one block and its end in the next.
  std::string long_line(100'000, 'z');
  write("\n" + line("stdout", 'F', long_line), /*append=*/false);
  auto reader = open();
  ASSERT_TRUE(reader->seekTail(1).has_value());
  const auto lines = all(*reader);
  ASSERT_EQ(lines.size(), 7u);  // 100,000 bytes in 16 KiB pieces
  std::string joined;
  for (const auto& l : lines) joined += l.line;
  EXPECT_EQ(joined, long_line);
}

TEST_F(LogReaderTest, ARawLineWithoutALimitIsReadInPieces) {
  // A runtime configured without a line size limit: 3 MiB in one raw line.
  const std::string huge(3 << 20, 'h');
  write(std::string(kTime) + " stdout F " + huge + "\n" + line("stdout", 'F', "after"));
  auto reader = open();
  ASSERT_TRUE(reader);
  const auto lines = all(*reader);
  ASSERT_GE(lines.size(), 2u);
  std::size_t total = 0;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_LE(lines[i].line.size(), protocol::kMaxLogLineBytes);
    EXPECT_EQ(lines[i].partial, i + 2 < lines.size()) << i;
    total += lines[i].line.size();
  }
  EXPECT_EQ(total, huge.size());
  EXPECT_EQ(lines.back().line, "after");
}

TEST_F(LogReaderTest, AnUnknownStreamIsInvalid) {
  write(line("stdout", 'F', "x"));
  for (std::string_view bad : {"", "both", "STDOUT", "stdin"}) {
    auto reader = LogReader::open(path_, bad);
    ASSERT_FALSE(reader.has_value()) << bad;
    EXPECT_EQ(reader.error().code, Code::kInvalidArgument) << bad;
    EXPECT_EQ(reader.error().field, "stream") << bad;
  }
}

TEST_F(LogReaderTest, AStreamReaderReturnsOnlyThatStreamJoiningItsPieces) {
  // The streams' partial pieces interleave; a line not in the CRI format is stdout.
  write(line("stdout", 'P', "a") + line("stderr", 'P', "x") + line("stdout", 'F', "b") +
        "plain\n" + line("stderr", 'F', "y") + line("stdout", 'F', "c") +
        line("stderr", 'P', "z still being written"));
  auto out = open("stdout");
  ASSERT_TRUE(out);
  const auto stdout_lines = all(*out);
  EXPECT_EQ(texts(stdout_lines), (std::vector<std::string>{"ab", "plain", "c"}));
  for (const auto& l : stdout_lines) EXPECT_EQ(l.stream, "stdout") << l.line;
  EXPECT_TRUE(out->drained());

  auto err = open("stderr");
  ASSERT_TRUE(err);
  EXPECT_EQ(texts(all(*err, /*flush=*/false)), std::vector<std::string>{"xy"});
  // The stream's open record is its own: the other stream does not end it.
  write(line("stdout", 'F', "d") + line("stderr", 'F', "!"));
  const auto more = all(*err, false);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].line, "z still being written!");
  EXPECT_EQ(more[0].stream, "stderr");
  EXPECT_FALSE(more[0].partial);

  // Both streams, as before.
  auto both = open();
  ASSERT_TRUE(both);
  EXPECT_EQ(texts(all(*both)),
            (std::vector<std::string>{"ab", "plain", "xy", "c", "d", "z still being written!"}));
}

TEST_F(LogReaderTest, TailCountsOnlyTheSelectedStream) {
  // A workload printed three lines on stdout, then one on stderr.
  write(line("stdout", 'F', "line1") + line("stdout", 'F', "line2") + line("stdout", 'F', "line3") +
        line("stderr", 'F', "oops"));
  EXPECT_EQ(tail(2, "stdout"), (std::vector<std::string>{"line2", "line3"}));
  EXPECT_EQ(tail(1, "stdout"), std::vector<std::string>{"line3"});
  EXPECT_EQ(tail(10, "stdout"), (std::vector<std::string>{"line1", "line2", "line3"}));
  EXPECT_EQ(tail(0, "stdout"), std::vector<std::string>{});
  EXPECT_EQ(tail(1, "stderr"), std::vector<std::string>{"oops"});
  EXPECT_EQ(tail(3, "stderr"), std::vector<std::string>{"oops"});
  EXPECT_EQ(tail(2, std::nullopt), (std::vector<std::string>{"line3", "oops"}));
}

TEST_F(LogReaderTest, TailOfAStreamKeepsItsPiecesAcrossTheOtherStream) {
  // stdout's record "ab" began before stderr's line.
  write(line("stdout", 'P', "a") + line("stderr", 'F', "e") + line("stdout", 'F', "b") +
        line("stdout", 'F', "c") + line("stdout", 'P', "d being written") +
        line("stderr", 'F', "f"));
  EXPECT_EQ(tail(3, "stdout"), (std::vector<std::string>{"ab", "c", "d being written"}));
  EXPECT_EQ(tail(2, "stdout"), (std::vector<std::string>{"c", "d being written"}));
  EXPECT_EQ(tail(2, "stderr"), (std::vector<std::string>{"e", "f"}));
  // Both streams: stdout's group being written counts as a record too.
  EXPECT_EQ(tail(2, std::nullopt), (std::vector<std::string>{"f", "d being written"}));
  EXPECT_EQ(tail(1, std::nullopt), std::vector<std::string>{"f"});
}

TEST_F(LogReaderTest, TailOfAStreamInABigFile) {
  // ~1.5 MB of alternating streams: the stream's tail crosses block boundaries.
  std::string text;
  for (int i = 0; i < 20'000; ++i) {
    text += line(i % 2 ? "stderr" : "stdout", 'F', "line " + std::to_string(i));
  }
  write(text);
  for (std::size_t n : {1, 1000, 9'999, 10'000, 30'000}) {
    auto reader = open("stderr");
    ASSERT_TRUE(reader);
    ASSERT_TRUE(reader->seekTail(n).has_value());
    const auto lines = all(*reader);
    const std::size_t want = std::min<std::size_t>(n, 10'000);
    ASSERT_EQ(lines.size(), want) << "tail " << n;
    for (const auto& l : lines) ASSERT_EQ(l.stream, "stderr") << l.line;
    EXPECT_EQ(lines.front().line, "line " + std::to_string(20'000 - 2 * want + 1)) << "tail " << n;
    EXPECT_EQ(lines.back().line, "line 19999");
  }
}

TEST_F(LogReaderTest, AReadStopsAfterItsBudgetWithoutTheSelectedStream) {
  // Megabytes of stdout (one huge raw line among them), then one stderr line.
  std::string text;
  for (int i = 0; i < 40'000; ++i) text += line("stdout", 'F', "noise " + std::to_string(i));
  text += std::string(kTime) + " stdout F " + std::string(3 << 20, 'h') + "\n";
  text += line("stderr", 'F', "the error");
  write(text);
  auto reader = open("stderr");
  ASSERT_TRUE(reader);
  auto first = reader->read(100, /*flush=*/true);
  ASSERT_TRUE(first.has_value()) << first.error().toString();
  EXPECT_TRUE(first->empty());
  EXPECT_FALSE(reader->drained());  // more to read: not the end
  EXPECT_EQ(texts(all(*reader)), std::vector<std::string>{"the error"});
  EXPECT_TRUE(reader->drained());
  // The tail of the stream finds the line at the very end.
  EXPECT_EQ(tail(1, "stderr"), std::vector<std::string>{"the error"});
  std::size_t joined = 0;
  for (const auto& piece : tail(1, "stdout")) joined += piece.size();
  EXPECT_EQ(joined, std::size_t{3} << 20);  // the huge line, in pieces
}

TEST_F(LogReaderTest, LimitsBelowTheirMinimumsAreInvalid) {
  write(line("stdout", 'F', "x"));
  for (const LogReaderLimits& bad :
       {LogReaderLimits{.block_bytes = 0}, LogReaderLimits{.read_budget_bytes = 0},
        LogReaderLimits{.max_raw_line_bytes = kLogHeaderBytes - 1},
        LogReaderLimits{.max_line_bytes = 3}}) {
    auto reader = LogReader::open(path_, std::nullopt, bad);
    ASSERT_FALSE(reader.has_value());
    EXPECT_EQ(reader.error().code, Code::kInvalidArgument);
    EXPECT_EQ(reader.error().field, "limits");
  }
  EXPECT_TRUE(LogReader::open(path_, std::nullopt,
                              LogReaderLimits{.block_bytes = 1, .read_budget_bytes = 1,
                                              .max_raw_line_bytes = kLogHeaderBytes,
                                              .max_line_bytes = 4}));
}

TEST_F(LogReaderTest, SmallBlocksReadAndTailTheSameRecords) {
  // Blocks and a read budget of a few bytes cross every boundary the 64 KiB
  // ones cross in a big file: the records are the same.
  std::string text;
  for (int i = 0; i < 60; ++i) {
    text += line(i % 3 ? "stdout" : "stderr", i % 4 ? 'F' : 'P', "line " + std::to_string(i));
    if (i % 7 == 0) text += "plain " + std::to_string(i) + "\n";
  }
  text += line("stderr", 'P', "open group");
  write(text);
  const LogReaderLimits small{.block_bytes = 7, .read_budget_bytes = 7};
  for (std::optional<std::string_view> stream :
       {std::optional<std::string_view>(), std::optional<std::string_view>("stdout"),
        std::optional<std::string_view>("stderr")}) {
    auto reference = open(stream);
    auto reader = open(stream, small);
    ASSERT_TRUE(reference && reader);
    const auto want = all(*reference);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(texts(all(*reader)), texts(want));
    for (std::size_t n : {0, 1, 2, 5, 17, 100}) {
      EXPECT_EQ(tail(n, stream, small), tail(n, stream)) << "tail " << n;
    }
  }
}

TEST_F(LogReaderTest, SmallLineLimitsCutAndSpillAsTheDefaultsDo) {
  // A record longer than max_line_bytes is cut into partial pieces, and a raw
  // line longer than max_raw_line_bytes is read in pieces, as with 16 KiB and
  // 1 MiB.
  const std::string content(100, 'c');
  write(line("stdout", 'F', content) + line("stderr", 'P', "ab") + line("stderr", 'F', "cd"));
  auto reader = open(std::nullopt, LogReaderLimits{.block_bytes = 32,
                                                   .max_raw_line_bytes = kLogHeaderBytes,
                                                   .max_line_bytes = 16});
  ASSERT_TRUE(reader);
  const auto lines = all(*reader);
  ASSERT_EQ(lines.size(), 8u);  // 100 bytes in 16-byte pieces, then "abcd"
  std::string joined;
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_LE(lines[i].line.size(), 16u);
    EXPECT_EQ(lines[i].partial, i < 6) << i;
    EXPECT_EQ(lines[i].stream, "stdout");
    joined += lines[i].line;
  }
  EXPECT_EQ(joined, content);
  EXPECT_EQ(lines[7].line, "abcd");
  EXPECT_EQ(lines[7].stream, "stderr");
}

TEST_F(LogReaderTest, ALongLineNotInTheCriFormatIsCutIntoPiecesNotTruncated) {
  // Every piece but the last is partial: the next line continues it.
  const std::string plain(40, 'p');
  write(plain + "\n" + line("stdout", 'F', "next"));
  auto reader = open(std::nullopt, LogReaderLimits{.max_line_bytes = 16});
  ASSERT_TRUE(reader);
  const auto lines = all(*reader);
  ASSERT_EQ(lines.size(), 4u);  // 16 + 16 + 8 bytes, then "next"
  EXPECT_EQ(lines[0].line + lines[1].line + lines[2].line, plain);
  EXPECT_TRUE(lines[0].partial);
  EXPECT_TRUE(lines[1].partial);
  EXPECT_FALSE(lines[2].partial);
  EXPECT_EQ(lines[3].line, "next");
  EXPECT_FALSE(lines[3].partial);
}

}  // namespace
}  // namespace zp::agent
