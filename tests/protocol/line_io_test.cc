#include "protocol/line_io.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <vector>

namespace zp::protocol {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Sends `payload` from one end of a loopback TCP pair and collects what a
// LineReader with `max_line` returns on the other end until an error.
std::vector<Result<std::string>> readAll(const std::string& payload, std::size_t max_line) {
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
        LineReader<tcp::socket> reader(server, max_line);
        while (true) {
          auto line = co_await reader.next();
          const bool stop = !line.has_value();
          out.push_back(std::move(line));
          if (stop) break;
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

TEST(LineIoTest, OverlongLineIsAnError) {
  auto lines = readAll(std::string(101, 'x') + "\n", 100);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].error().code, Code::kResourceExhausted);
}

}  // namespace
}  // namespace zp::protocol
