// disk-full: the server's data directory is a small tmpfs, filled up by a
// filler file while the server runs. Writes are then refused with 507
// Insufficient Storage and a JSON error (code StorageFull), reads go on
// working, and once the filler is removed submissions succeed again without a
// restart; nothing acknowledged before, during or after is lost, also across a
// final restart (docs/architecture.md §7, §8.4, §11.1).

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fault_fixture.h"
#include "stack_census.h"

namespace zp::faults {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

class DiskFullTest : public FaultTest {
 protected:
  void TearDown() override {
    // The server first: then nothing holds the file system, also on failure.
    server_.terminate();
    if (mounted_ && ::umount2(server_dir_.c_str(), 0) != 0) {
      ADD_FAILURE() << "umount " << server_dir_ << ": " << std::strerror(errno)
                    << " (detached instead)";
      ::umount2(server_dir_.c_str(), MNT_DETACH);
    }
    mounted_ = false;
    FaultTest::TearDown();
  }

  // Writes zeros to `path` until the file system is full; returns the bytes written.
  static std::size_t fill(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    const std::vector<char> block(64 * 1024, 0);
    std::size_t total = 0;
    for (;;) {
      const ssize_t n = ::write(fd, block.data(), block.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return total;
  }

  // A small long-running workload, with `payload_bytes` of environment so
  // that its record takes some room.
  std::string workload(const std::string& id, std::size_t payload_bytes = 0) {
    json body = json::parse(spec(id, "exec sleep 100000", "native", 16));
    body["cpu_millicores"] = 10;
    if (payload_bytes > 0) body["env"] = {{"PAYLOAD", std::string(payload_bytes, 'x')}};
    return body.dump();
  }

  bool mounted_ = false;
};

TEST_F(DiskFullTest, WritesAre507ReadsWorkAndSpaceReturning) {
  fs::create_directories(server_dir_);
  ASSERT_EQ(
      ::mount("tmpfs", server_dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0700"), 0)
      << "mount tmpfs on " << server_dir_ << ": " << std::strerror(errno);
  mounted_ = true;
  auto& agent = addAgent("a");
  ASSERT_TRUE(startAgent(agent));
  ASSERT_TRUE(startServer());
  waitForNode(agent.id, [](const json& n) { return n["state"] == "Ready"; });

  const std::string prefix = "df-" + suffix_ + "-";
  std::vector<std::string> acknowledged;
  std::vector<std::string> refused;
  int wrong_state = 0;
  std::vector<std::string> problems;
  auto problem = [&](const std::string& what) {
    ++wrong_state;
    problems.push_back(what);
  };

  const int before = scaled(5, 3);
  for (int i = 0; i < before; ++i) {
    const std::string id = prefix + "before-" + std::to_string(i);
    ASSERT_EQ(http(cli::HttpMethod::kPost, "/workloads", workload(id)).status, 201);
    acknowledged.push_back(id);
  }

  // The disk fills: submissions (with some bulk) until one is refused. Those
  // that still fit in the database's existing pages are acknowledged.
  const fs::path filler = server_dir_ / "filler";
  const std::size_t filled = fill(filler);
  ASSERT_GT(filled, 0u);
  json refusal;
  std::map<int, int> statuses_while_full;
  for (int i = 0; i < 400 && refusal.is_null(); ++i) {
    const std::string id = prefix + "full-" + std::to_string(i);
    auto answer = tryHttp(cli::HttpMethod::kPost, "/workloads", workload(id, 3000));
    ASSERT_TRUE(answer) << answer.error().message;
    ++statuses_while_full[answer->status];
    if (answer->status == 201) {
      acknowledged.push_back(id);
    } else {
      refused.push_back(id);
      if (answer->status == 507) {
        refusal = answer->body;
      } else {
        problem(id + ": answered " + std::to_string(answer->status) + " " + answer->body.dump());
      }
    }
  }
  ASSERT_FALSE(refusal.is_null()) << "no 507 while the disk was full";
  EXPECT_EQ(refusal["error"]["code"], "StorageFull") << refusal.dump();
  EXPECT_NE(refusal["error"]["message"].get<std::string>().find("disk is full"), std::string::npos)
      << refusal.dump();

  // Still full: every write is 507, nothing changes; reads are answered.
  const int full_writes = scaled(5, 3);
  for (int i = 0; i < full_writes; ++i) {
    const std::string id = prefix + "refused-" + std::to_string(i);
    auto answer = http(cli::HttpMethod::kPost, "/workloads", workload(id));
    ++statuses_while_full[answer.status];
    refused.push_back(id);
    if (answer.status != 507) problem(id + ": answered " + std::to_string(answer.status));
  }
  const std::string victim = acknowledged.front();
  auto undeleted = http(cli::HttpMethod::kDelete, "/workloads/" + victim);
  EXPECT_EQ(undeleted.status, 507) << undeleted.body.dump();
  auto list = http(cli::HttpMethod::kGet, "/workloads");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body["items"].size(), acknowledged.size());
  auto kept = http(cli::HttpMethod::kGet, "/workloads/" + victim);
  EXPECT_EQ(kept.status, 200);
  EXPECT_NE(kept.body["status"]["reason"], "Terminating") << kept.body.dump();
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/nodes/" + agent.id).status, 200);
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/healthz").status, 200);

  // A restart while the disk is full: the server starts from what is stored,
  // answers reads and refuses writes the same way.
  server_.kill9();
  ASSERT_TRUE(startServer()) << "the server does not start on a full disk";
  waitForNode(agent.id, [](const json& n) { return n["state"] == "Ready"; });
  EXPECT_EQ(http(cli::HttpMethod::kGet, "/workloads").body["items"].size(), acknowledged.size());
  {
    const std::string id = prefix + "refused-restarted";
    auto answer = http(cli::HttpMethod::kPost, "/workloads", workload(id));
    ++statuses_while_full[answer.status];
    refused.push_back(id);
    if (answer.status != 507) problem(id + ": answered " + std::to_string(answer.status));
  }

  // Space returns: the next submission succeeds, without a restart.
  fs::remove(filler);
  const auto freed = Clock::now();
  const std::string after = prefix + "after-0";
  auto accepted = http(cli::HttpMethod::kPost, "/workloads", workload(after, 3000));
  const double recover_seconds = std::chrono::duration<double>(Clock::now() - freed).count();
  EXPECT_EQ(accepted.status, 201) << accepted.body.dump();
  if (accepted.status == 201) acknowledged.push_back(after);
  for (int i = 1; i < 3; ++i) {
    const std::string id = prefix + "after-" + std::to_string(i);
    if (http(cli::HttpMethod::kPost, "/workloads", workload(id)).status == 201) {
      acknowledged.push_back(id);
    } else {
      problem(id + ": refused after space returned");
    }
  }

  // Every acknowledged workload runs, before and after a restart (kill -9).
  auto check = [&](const std::string& when, int& lost, int& duplicated) {
    for (const auto& id : acknowledged) {
      auto shown = waitFor(
          id, [](const json& w) { return w["status"]["state"] == "Running"; }, 90s);
      if (shown["spec"]["id"] != id) {
        ++lost;
        problems.push_back(id + ": acknowledged and missing " + when);
      } else if (shown["status"]["state"] != "Running") {
        problem(id + ": not running " + when + ": " + shown["status"].dump());
      }
    }
    for (const auto& id : refused) {
      auto answer = tryHttp(cli::HttpMethod::kGet, "/workloads/" + id);
      if (!answer || answer->status != 404) problem(id + ": refused but exists " + when);
    }
    auto copies = census(endpoint_, {agent.id});
    if (!copies) {
      problem("census " + when + ": " + copies.error().message);
      return;
    }
    for (const auto& id : acknowledged) {
      const Copies c = copies->contains(id) ? copies->at(id) : Copies{};
      if (c.sandboxes > 1 || c.containers > 1) {
        ++duplicated;
        problems.push_back(id + ": " + std::to_string(c.sandboxes) + " sandboxes " + when);
      } else if (c.sandboxes == 0) {
        problem(id + ": acknowledged but not running " + when);
      }
    }
    for (const auto& id : refused) {
      if (copies->contains(id)) problem(id + ": refused but runs " + when);
    }
  };
  int lost = 0, duplicated = 0;
  check("after space returned", lost, duplicated);
  server_.kill9();
  ASSERT_TRUE(startServer());
  waitForNode(agent.id, [](const json& n) { return n["state"] == "Ready"; });
  check("after a restart", lost, duplicated);

  json details{{"tmpfs_bytes", 16 << 20},
               {"filler_bytes", filled},
               {"acknowledged", acknowledged.size()},
               {"refused", refused.size()},
               {"first_refusal", refusal["error"]}};
  for (const auto& [status, n] : statuses_while_full) {
    details["answers_while_full"][std::to_string(status)] = n;
  }
  report(FaultFigures{"disk-full", "server data dir on a 16 MiB tmpfs filled to the last byte",
                      static_cast<int>(acknowledged.size() + refused.size()), lost, duplicated,
                      wrong_state, recover_seconds, details});
  for (const auto& p : problems) ADD_FAILURE() << p;
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(wrong_state, 0);

  for (const auto& id : acknowledged) {
    tryHttp(cli::HttpMethod::kDelete, "/workloads/" + id + "?grace_seconds=0");
  }
}

}  // namespace
}  // namespace zp::faults
