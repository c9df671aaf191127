// zoneplane-server tokens create|list|revoke (server/admin_commands.h): run
// in-process against a database in a private directory, and against the
// database of a running server (docs/architecture.md §9.3).

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "access_fixture.h"
#include "server/admin_commands.h"

namespace zp::server::testing {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string firstLine() const { return out.substr(0, out.find('\n')); }
};

// Runs `zoneplane-server <args>` in this process, capturing its output.
CommandRun run(std::vector<std::string> args) {
  args.insert(args.begin(), "zoneplane-server");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  CommandRun result;
  result.exit_code = runAdminCommand(static_cast<int>(args.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

// The user running the tests as the audit log names them: the name, else the uid.
std::string localUser() {
  const struct passwd* entry = ::getpwuid(::getuid());
  return entry != nullptr && entry->pw_name != nullptr && entry->pw_name[0] != '\0'
             ? std::string(entry->pw_name)
             : std::to_string(::getuid());
}

std::string fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class TokenCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/zp-tokens-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  CommandRun tokens(std::vector<std::string> args) {
    args.insert(args.begin(), "tokens");
    args.push_back("--data-dir");
    args.push_back(dir_);
    return run(std::move(args));
  }
  std::string dir_;
};

TEST_F(TokenCommandsTest, CreateListAndRevokeAgainstTheDatabase) {
  auto created = tokens({"create", "--name", "admin", "--role", "admin", "--expires-in", "90d"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string token = created.firstLine();
  auto parsed = auth::parseToken(token);
  ASSERT_TRUE(parsed) << created.out;
  EXPECT_FALSE(parsed->join);
  EXPECT_EQ(created.out, token + "\n");  // the token alone

  // Stored as its hash only, with the name, role and expiry asked for.
  auto store = store::SqliteStore::open(dir_ + "/zoneplane.db");
  ASSERT_TRUE(store) << store.error().toString();
  auto stored = (*store)->loadTokens();
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  const store::TokenRecord& record = (*stored)[0];
  EXPECT_EQ(record.id, parsed->id);
  EXPECT_EQ(record.name, "admin");
  EXPECT_EQ(record.role, "admin");
  ASSERT_TRUE(record.expires_at);
  EXPECT_EQ(*record.expires_at - record.created_at, 90 * 24h);
  EXPECT_TRUE(auth::secretMatches(parsed->secret, record.secret_sha256));
  store->reset();
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(fileBytes(entry.path().string()).find(parsed->secret), std::string::npos);
    }
  }

  auto again = tokens({"create", "--name", "admin", "--role", "viewer"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
  EXPECT_EQ(again.out, "");

  auto list = tokens({"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("admin"), std::string::npos);
  EXPECT_NE(list.out.find(parsed->id), std::string::npos);
  EXPECT_EQ(list.out.find(parsed->secret), std::string::npos);

  auto revoked = tokens({"revoke", "admin"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(tokens({"revoke", "admin"}).exit_code, 1);
  EXPECT_EQ(tokens({"list"}).out.find(parsed->id), std::string::npos);

  // The changes are audited as the local user's; the failures changed nothing.
  store = store::SqliteStore::open(dir_ + "/zoneplane.db");
  ASSERT_TRUE(store) << store.error().toString();
  auto entries = (*store)->loadAudit(TimePoint{}, 100);
  ASSERT_TRUE(entries) << entries.error().toString();
  ASSERT_EQ(entries->size(), 2u);
  const std::string user = localUser();
  EXPECT_EQ((*entries)[0].principal, "local:" + user);
  EXPECT_EQ((*entries)[0].action, "zoneplane-server tokens create");
  EXPECT_EQ((*entries)[0].target, "admin");
  EXPECT_EQ((*entries)[0].result, 201);
  EXPECT_EQ((*entries)[0].source, "local");
  EXPECT_EQ((*entries)[0].time, record.created_at);
  EXPECT_EQ((*entries)[1].principal, "local:" + user);
  EXPECT_EQ((*entries)[1].action, "zoneplane-server tokens revoke");
  EXPECT_EQ((*entries)[1].target, "admin");
  EXPECT_EQ((*entries)[1].result, 200);
}

TEST_F(TokenCommandsTest, JoinTokensPinTheCaAndBadInvocationsFail) {
  auto no_ca = tokens({"create", "--join"});
  EXPECT_EQ(no_ca.exit_code, 1);
  EXPECT_NE(no_ca.err.find("ca init"), std::string::npos) << no_ca.err;

  auto ca = tls::CertificateAuthority::create(tls::KeyType::kEcP256, "test CA");
  ASSERT_TRUE(ca);
  ASSERT_TRUE(ca->save(dir_ + "/pki"));
  auto join = tokens({"create", "--join"});
  ASSERT_EQ(join.exit_code, 0) << join.err;
  auto parsed = auth::parseToken(join.firstLine());
  ASSERT_TRUE(parsed) << join.out;
  EXPECT_TRUE(parsed->join);
  EXPECT_EQ(parsed->ca_sha256, std::string(ca->fingerprint()));
  auto named = tokens({"create", "--join", "--name", "rack-7", "--expires-in", "2h"});
  EXPECT_EQ(named.exit_code, 0) << named.err;
  {
    // An unnamed join token is audited by its id.
    auto store = store::SqliteStore::open(dir_ + "/zoneplane.db");
    ASSERT_TRUE(store) << store.error().toString();
    auto entries = (*store)->loadAudit(TimePoint{}, 100);
    ASSERT_TRUE(entries);
    ASSERT_EQ(entries->size(), 2u);
    EXPECT_EQ((*entries)[0].target, parsed->id);
    EXPECT_EQ((*entries)[1].target, "rack-7");
  }

  EXPECT_EQ(tokens({"create", "--name", "x", "--role", "root"}).exit_code, 2);
  EXPECT_EQ(tokens({"create", "--name", "x", "--role", "join"}).exit_code, 2);
  EXPECT_EQ(tokens({"create", "--role", "admin"}).exit_code, 2);
  EXPECT_EQ(tokens({"create", "--name", "x"}).exit_code, 2);
  EXPECT_NE(tokens({"create", "--name", "x", "--role", "admin", "--join"}).exit_code, 0);
  EXPECT_EQ(tokens({"create", "--name", "Bad", "--role", "admin"}).exit_code, 1);
  EXPECT_EQ(tokens({"create", "--name", "x", "--role", "admin", "--expires-in", "1y"}).exit_code,
            1);
  auto list = tokens({"list"});
  EXPECT_NE(list.out.find("rack-7"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(" x "), std::string::npos) << list.out;  // none of the failures
}

TEST_F(AccessFixture, ATokenMadeByTheCommandWorksOnTheRunningServer) {
  const std::string database = dir_ + "/zoneplane.db";
  auto created = run({"tokens", "create", "--name", "ops", "--role", "operator", "--database",
                      database, "--data-dir", dir_});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  fake_clock_.advance(1s);  // the server re-reads the store at most once a second
  EXPECT_EQ(as(created.firstLine(), http::verb::post, "/workloads", spec("w-1")).status, 201u);

  auto join = run({"tokens", "create", "--join", "--database", database, "--data-dir", dir_});
  ASSERT_EQ(join.exit_code, 0) << join.err;
  EXPECT_TRUE(join.firstLine().ends_with("." + ca_fingerprint_));

  ASSERT_EQ(run({"tokens", "revoke", "ops", "--database", database}).exit_code, 0);
  fake_clock_.advance(10s);
  EXPECT_TRUE(eventually(
      [&] { return as(created.firstLine(), http::verb::get, "/workloads").status == 401u; }));
}

}  // namespace
}  // namespace zp::server::testing
