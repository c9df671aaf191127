#include "server/workloads/workload_locks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>
#include <vector>

namespace zp::server {
namespace {

namespace asio = boost::asio;

// Holds `id`'s lock across a few yields, logging when it enters and leaves.
asio::awaitable<void> critical(WorkloadLocks& locks, std::string id, std::string who,
                               std::vector<std::string>& log) {
  auto guard = co_await locks.acquire(id);
  log.push_back(who + "+");
  for (int i = 0; i < 3; ++i) co_await asio::post(asio::use_awaitable);
  log.push_back(who + "-");
}

TEST(WorkloadLocksTest, SerializesOneIdAndLeavesOthersAlone) {
  asio::io_context io;
  WorkloadLocks locks;
  std::vector<std::string> log;
  asio::co_spawn(io, critical(locks, "a", "a1", log), asio::detached);
  asio::co_spawn(io, critical(locks, "a", "a2", log), asio::detached);
  asio::co_spawn(io, critical(locks, "b", "b1", log), asio::detached);
  io.run();
  ASSERT_EQ(log.size(), 6u);
  // a1 and a2 never overlap; b1 ran while a1 held "a".
  auto pos = [&](const std::string& entry) {
    return std::find(log.begin(), log.end(), entry) - log.begin();
  };
  EXPECT_LT(pos("a1-"), pos("a2+"));
  EXPECT_LT(pos("b1+"), pos("a1-"));
  EXPECT_FALSE(locks.held("a"));
  EXPECT_FALSE(locks.held("b"));
}

}  // namespace
}  // namespace zp::server
