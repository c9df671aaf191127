// The assembled Server's audit log and the secrecy of tokens
// (docs/architecture.md §9.3): every POST and DELETE whatever its answer and
// every 401/403/429 is recorded with who, what, which object, the answer and
// the address; GET /audit reads it; no token secret reaches the database
// file or the audit log.

#include <filesystem>
#include <fstream>
#include <iterator>

#include "access_fixture.h"

namespace zp::server::testing {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using namespace std::chrono_literals;

// The audit entries as "principal action target result" lines.
std::vector<std::string> lines(const json& items) {
  std::vector<std::string> out;
  for (const auto& e : items) {
    out.push_back(e["principal"].get<std::string>() + " " + e["action"].get<std::string>() + " " +
                  e["target"].get<std::string>() + " " + std::to_string(e["result"].get<int>()));
  }
  return out;
}

std::string fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Entries older than the retention (90 days by default) are deleted on the
// server's clock, hourly; younger ones stay.
TEST_F(AccessFixture, AuditEntriesOlderThanTheRetentionAreDeleted) {
  ASSERT_EQ(server_->post("/nodes/node-1/cordon").status, 200u);  // at t0
  fake_clock_.advance(24h * 89);
  ASSERT_EQ(server_->post("/nodes/node-2/cordon").status, 200u);  // at t0 + 89 days
  const auto targets = [&] {
    std::vector<std::string> out;
    for (const auto& e : audit()) out.push_back(e["target"].get<std::string>());
    return out;
  };
  EXPECT_EQ(targets(), (std::vector<std::string>{"node-1", "node-2"}));
  fake_clock_.advance(24h + 1s);  // node-1's entry is 90 days and a second old
  EXPECT_TRUE(eventually([&] { return targets() == std::vector<std::string>{"node-2"}; }))
      << ::testing::PrintToString(targets());
}

TEST_F(AccessFixture, EveryChangeAndEveryRefusalIsAudited) {
  const std::string viewer = newToken("auditor", "viewer");
  const TimePoint start = fake_clock_.now();
  fake_clock_.advance(1s);
  const std::string admin = server_->onServer([](Server& s) {
    for (const auto& t : s.tokens().list()) {
      if (t.name.starts_with("test-admin-")) return t.name;
    }
    return std::string();
  });
  ASSERT_FALSE(admin.empty());

  ASSERT_EQ(server_->post("/workloads", spec("w-1")).status, 201u);  // created
  ASSERT_EQ(server_->post("/workloads", spec("w-1")).status, 409u);  // exists
  ASSERT_EQ(server_->post("/workloads", "{not json").status, 400u);  // malformed
  ASSERT_EQ(server_->get("/workloads/w-1").status, 200u);            // a read: not audited
  ASSERT_EQ(server_->del("/workloads/nope").status, 404u);           // nothing to delete
  ASSERT_EQ(server_->post("/nodes/node-1/cordon").status, 200u);
  ASSERT_EQ(as("", http::verb::get, "/nodes").status, 401u);  // no token
  ASSERT_EQ(as(viewer, http::verb::delete_, "/nodes/node-2").status, 403u);
  ASSERT_EQ(as(viewer, http::verb::get, "/nodes").status, 200u);  // not audited
  ASSERT_EQ(server_->del("/workloads/w-1").status, 200u);

  auto entries = audit("since=" + formatRfc3339(start + 1s));
  EXPECT_EQ(lines(entries), (std::vector<std::string>{
                                admin + " POST /workloads w-1 201",
                                admin + " POST /workloads w-1 409",
                                admin + " POST /workloads  400",
                                admin + " DELETE /workloads/{id} nope 404",
                                admin + " POST /nodes/{id}/cordon node-1 200",
                                "anonymous GET /nodes  401",
                                "auditor DELETE /nodes/{id} node-2 403",
                                admin + " DELETE /workloads/{id} w-1 200",
                            }));
  for (const auto& e : entries) {
    EXPECT_EQ(e["source"], "127.0.0.1");
    EXPECT_EQ(parseRfc3339(e["time"].get<std::string>()),
              std::chrono::floor<std::chrono::milliseconds>(start + 1s));
  }
  // Oldest first with increasing seq; the earlier POST /tokens is before `since`.
  for (std::size_t i = 1; i < entries.size(); ++i) {
    EXPECT_LT(entries[i - 1]["seq"].get<int>(), entries[i]["seq"].get<int>());
  }
  auto all = audit();
  ASSERT_EQ(all.size(), entries.size() + 1);
  EXPECT_EQ(lines(json::array({all[0]})),
            std::vector<std::string>{admin + " POST /tokens auditor 201"});
  EXPECT_EQ(audit("limit=2").size(), 2u);
  EXPECT_EQ(audit("since=" + formatRfc3339(start + 2s)).size(), 0u);

  EXPECT_EQ(server_->get("/audit?since=yesterday").status, 422u);
  EXPECT_EQ(server_->get("/audit?limit=0").status, 422u);
  EXPECT_EQ(server_->get("/audit?limit=1001").status, 422u);
  EXPECT_EQ(server_->get("/audit?who=me").status, 400u);
}

TEST_F(AccessFixture, ABlockedAddressIsAuditedOncePerWindow) {
  for (int i = 0; i < 10; ++i) ASSERT_EQ(as("", http::verb::get, "/workloads").status, 401u);
  const TimePoint blocked_at = fake_clock_.now() + 1s;
  fake_clock_.advance(1s);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(as("", http::verb::get, "/workloads").status, 429u);
  fake_clock_.advance(60s);
  auto entries = audit("since=" + formatRfc3339(blocked_at));
  EXPECT_EQ(lines(entries), std::vector<std::string>{"anonymous GET /workloads  429"});
  EXPECT_EQ(audit().size(), 11u);
}

TEST_F(AccessFixture, NoSecretReachesTheDatabaseFileOrTheAuditLog) {
  auto created = server_->post("/tokens", R"({"name":"secret-keeper","role":"admin"})");
  ASSERT_EQ(created.status, 201u);
  const std::string token = created.json["token"];
  const std::string join = joinToken();
  ASSERT_EQ(as(token, http::verb::get, "/workloads").status, 200u);
  // Tokens where they do not belong: in the path and as the wrong kind.
  as(token, http::verb::delete_, "/tokens/" + token);
  as("", http::verb::post, "/workloads/" + join);
  as(join, http::verb::get, "/workloads");
  const std::string admin_token = server_->adminToken();
  stopServer();  // closes the database: everything is in its files

  for (const std::string& t : {token, join, admin_token}) {
    const std::string secret = t.substr(t.find('.') + 1, 43);
    ASSERT_EQ(secret.size(), 43u);
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (!entry.is_regular_file()) continue;
      const std::string bytes = fileBytes(entry.path().string());
      EXPECT_EQ(bytes.find(secret), std::string::npos) << entry.path() << " holds a secret";
    }
  }
  startServer();
  auto body = server_->get("/audit").body;
  EXPECT_NE(body.find("<redacted>"), std::string::npos) << body;
  for (const std::string& t : {token, join, admin_token}) {
    EXPECT_EQ(body.find(t.substr(t.find('.') + 1, 43)), std::string::npos) << body;
  }
}

}  // namespace
}  // namespace zp::server::testing
