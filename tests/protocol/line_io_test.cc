#include "protocol/line_io.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <vector>

namespace zp::protocol {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Sends `payload` from one end of a loopback TCP pair and collects what a
// LineReader with `max_line` (and `budget`) returns on the other end until an
// error. `after_line` sees the reader after each line.
std::vector<Result<std::string>> readAll(
    const std::string& payload, std::size_t max_line, BufferBudget* budget = nullptr,
    const std::function<void(const LineReader<tcp::socket>&)>& after_line = {},
    std::size_t* bytes_read = nullptr) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  asio::write(client, asio::buffer(payload));
  client.shutdown(tcp::socket::shutdown_send);

  std::vector<Result<std::string>> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        LineReader<tcp::socket> reader(server, max_line, budget);
        if (bytes_read != nullptr) reader.onRead([bytes_read](std::size_t n) { *bytes_read += n; });
        while (true) {
          auto line = co_await reader.next();
          const bool stop = !line.has_value();
          out.push_back(std::move(line));
          if (stop) break;
          if (after_line) after_line(reader);
        }
      },
      asio::detached);
  io.run();
  return out;
}

TEST(LineIoTest, SplitsLinesAndStripsCr) {
  auto lines = readAll("one\r\ntwo\nthree", 100);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(*lines[0], "one");
  EXPECT_EQ(*lines[1], "two");
  EXPECT_EQ(*lines[2], "three");
  EXPECT_EQ(lines[3].error().code, Code::kUnavailable);
}

TEST(LineIoTest, LineAtTheLimitIsAccepted) {
  auto lines = readAll(std::string(100, 'x') + "\n", 100);
  ASSERT_GE(lines.size(), 1u);
  ASSERT_TRUE(lines[0]);
  EXPECT_EQ(lines[0]->size(), 100u);
}

// Reads start small and grow with what a line needs: lines far longer than
// one read, and short ones after them, come back whole and in order.
TEST(LineIoTest, LongAndShortLinesAcrossManyReads) {
  std::vector<std::string> sent;
  std::string payload;
  for (const std::size_t size : {3u, 5'000u, 300'000u, 1u, 70'000u, 0u, 12u}) {
    std::string line;
    for (std::size_t i = 0; i < size; ++i)
      line.push_back(static_cast<char>('a' + (i * 7 + size) % 26));
    sent.push_back(line);
    payload += line + "\n";
  }
  auto lines = readAll(payload, 400'000);
  ASSERT_EQ(lines.size(), sent.size() + 1);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    ASSERT_TRUE(lines[i]) << i;
    EXPECT_EQ(*lines[i], sent[i]) << i;
  }
  EXPECT_EQ(lines.back().error().code, Code::kUnavailable);
}

TEST(LineIoTest, OverlongLineIsAnError) {
  auto lines = readAll(std::string(101, 'x') + "\n", 100);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].error().code, Code::kResourceExhausted);
}

TEST(LineIoTest, TheBudgetHoldsWhatIsBufferedAndIsGivenBack) {
  BufferBudget budget(1000);
  std::vector<std::size_t> charged;
  std::size_t bytes_read = 0;
  auto lines = readAll(
      "one\ntwo\nthree", 100, &budget,
      [&](const LineReader<tcp::socket>& reader) {
        EXPECT_EQ(budget.used(), reader.buffered());
        charged.push_back(budget.used());
      },
      &bytes_read);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(*lines[2], "three");
  EXPECT_EQ(charged.back(), 0u);  // after the last line nothing is buffered
  EXPECT_EQ(bytes_read, 13u);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(LineIoTest, AReadPastTheBudgetIsAnErrorAndReleasesItsShare) {
  BufferBudget budget(12);
  ASSERT_TRUE(budget.take(4));  // another reader's share: 4 + 11 bytes do not fit
  auto lines = readAll("0123456789\n", 100, &budget);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].error().code, Code::kResourceExhausted);
  EXPECT_EQ(budget.used(), 4u);
  budget.give(4);
  auto fits = readAll("0123456789\n", 100, &budget);
  ASSERT_TRUE(fits[0]) << fits[0].error().toString();
  EXPECT_EQ(*fits[0], "0123456789");
}

TEST(LineIoTest, BudgetTakeAndGive) {
  BufferBudget budget(5);
  EXPECT_TRUE(budget.take(5));
  EXPECT_FALSE(budget.take(1));
  budget.give(2);
  EXPECT_FALSE(budget.take(3));
  EXPECT_TRUE(budget.take(2));
  budget.give(100);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace zp::protocol
