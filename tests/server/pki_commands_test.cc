// `zoneplane-server ca init` and `certs issue` (server/admin_commands.h),
// run through runAdminCommand with argv arrays against private temporary
// data directories; the files are checked for modes and what they certify.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "server/admin_commands.h"
#include "support/temp_dir.h"
#include "tls/pki.h"
#include "tls/x509_check.h"

namespace zp::server {
namespace {

namespace fs = std::filesystem;
using testsupport::TempDir;
using tls::x509check::verifyLeaf;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome run(std::vector<std::string> args) {
  args.insert(args.begin(), "zoneplane-server");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  Outcome result;
  result.code = runAdminCommand(static_cast<int>(args.size()), argv.data());
  result.out = ::testing::internal::GetCapturedStdout();
  result.err = ::testing::internal::GetCapturedStderr();
  return result;
}

unsigned modeOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xffff;
  return info.st_mode & 07777;
}

std::string read(const std::string& path) { return tls::readFile(path).value_or(""); }

class PkiCommandsTest : public ::testing::Test {
 protected:
  std::string data() const { return dir_.file("data"); }
  std::string pki(const std::string& name = "") const { return dir_.file("data/pki/" + name); }
  void initCa() {
    Outcome init = run({"ca", "init", "--data-dir", data()});
    ASSERT_EQ(init.code, 0) << init.err;
  }

  TempDir dir_{"zp-pki-commands"};
};

TEST_F(PkiCommandsTest, CaInitWritesThePrivateCaAndPrintsItsFingerprint) {
  Outcome init = run({"ca", "init", "--data-dir", data()});
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_EQ(modeOf(pki()), 0700u);
  EXPECT_EQ(modeOf(pki("ca.key")), 0600u);
  EXPECT_EQ(modeOf(pki("ca.crt")), 0644u);
  auto fingerprint = tls::fingerprint(read(pki("ca.crt")));
  ASSERT_TRUE(fingerprint);
  EXPECT_NE(init.out.find("CA fingerprint (sha256): " + *fingerprint + "\n"), std::string::npos)
      << init.out;
  EXPECT_NE(init.out.find(pki("ca.key")), std::string::npos);
  EXPECT_EQ(init.out.find("PRIVATE KEY"), std::string::npos) << "no key material on stdout";

  auto ca = tls::CertificateAuthority::load(pki());
  ASSERT_TRUE(ca) << ca.error().toString();
  auto info = tls::inspectCertificate(ca->certPem());
  EXPECT_TRUE(info->is_ca);
  EXPECT_GT(info->not_after - info->not_before, std::chrono::days(3650));
  EXPECT_EQ(tls::PrivateKey::fromPem(read(pki("ca.key")))->type(), tls::KeyType::kEcP256);
}

TEST_F(PkiCommandsTest, CaInitOptions) {
  Outcome init = run({"ca", "init", "--data-dir", data(), "--key-type", "ed25519",
                  "--validity-days", "30"});
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_EQ(tls::PrivateKey::fromPem(read(pki("ca.key")))->type(), tls::KeyType::kEd25519);
  auto info = tls::inspectCertificate(read(pki("ca.crt")));
  EXPECT_LT(info->not_after - info->not_before, std::chrono::days(31));
}

TEST_F(PkiCommandsTest, CaInitNeverReplacesSilently) {
  initCa();
  const std::string first = read(pki("ca.crt"));
  Outcome again = run({"ca", "init", "--data-dir", data()});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(read(pki("ca.crt")), first);

  Outcome forced = run({"ca", "init", "--data-dir", data(), "--force"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(read(pki("ca.crt.old")), first);
  EXPECT_EQ(modeOf(pki("ca.key.old")), 0600u);
  EXPECT_NE(read(pki("ca.crt")), first);
  EXPECT_NE(forced.out.find("old CA"), std::string::npos) << forced.out;

  const std::string second = read(pki("ca.crt"));
  Outcome twice = run({"ca", "init", "--data-dir", data(), "--force"});
  EXPECT_EQ(twice.code, 1) << "the one kept old CA is never destroyed";
  EXPECT_NE(twice.err.find("ca.crt.old exists"), std::string::npos) << twice.err;
  EXPECT_EQ(read(pki("ca.crt.old")), first);
  EXPECT_EQ(read(pki("ca.crt")), second);
}

TEST_F(PkiCommandsTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> usage_errors = {
      {"ca"},
      {"ca", "init", "--key-type", "rsa"},
      {"ca", "init", "--validity-days", "0"},
      {"certs", "issue", "--data-dir", data()},
      {"certs", "issue", "--server", "--node", "n1"},
      {"certs", "issue", "--node", "n1", "--client", "c"},
      {"certs", "issue", "--server", "--validity-days", "36501"},
      {"certs", "issue", "--server", "--unknown"},
  };
  for (const auto& args : usage_errors) {
    Outcome usage = run(args);
    EXPECT_EQ(usage.code, 2) << args.back() << ": " << usage.err << usage.out;
  }
  EXPECT_FALSE(fs::exists(data()));
}

TEST_F(PkiCommandsTest, IssueServer) {
  initCa();
  Outcome issue = run({"certs", "issue", "--server", "--data-dir", data(), "--dns", "api.example.com",
                   "--ip", "10.1.2.3", "--ip", "::1"});
  ASSERT_EQ(issue.code, 0) << issue.err;
  EXPECT_EQ(modeOf(pki("server.key")), 0600u);
  const std::string chain = read(pki("server.crt"));
  EXPECT_EQ(verifyLeaf(read(pki("ca.crt")), chain, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  auto info = tls::inspectCertificate(chain);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->identity, tls::Identity::server());
  EXPECT_EQ(info->dns_names.front(), "localhost");
  EXPECT_NE(std::ranges::find(info->dns_names, "api.example.com"), info->dns_names.end());
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1", "10.1.2.3"}));
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string lower(host);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (tls::isDnsName(lower)) {
    EXPECT_NE(std::ranges::find(info->dns_names, lower), info->dns_names.end());
  }
  auto key = tls::PrivateKey::fromPem(read(pki("server.key")));
  ASSERT_TRUE(key);
  EXPECT_NE(issue.out.find("CA fingerprint (sha256): "), std::string::npos);
  EXPECT_FALSE(fs::exists(pki("ca.crt.old")));

  Outcome elsewhere = run({"certs", "issue", "--server", "--data-dir", data(), "--out",
                       dir_.file("srv"), "--key-type", "ed25519"});
  ASSERT_EQ(elsewhere.code, 0) << elsewhere.err;
  EXPECT_EQ(read(dir_.file("srv/ca.crt")), read(pki("ca.crt")));
  EXPECT_EQ(tls::PrivateKey::fromPem(read(dir_.file("srv/server.key")))->type(),
            tls::KeyType::kEd25519);
}

TEST_F(PkiCommandsTest, IssueNode) {
  initCa();
  const std::string out = dir_.file("agent/tls");
  Outcome issue = run({"certs", "issue", "--node", "node-1", "--data-dir", data(), "--out", out,
                   "--validity-days", "10"});
  ASSERT_EQ(issue.code, 0) << issue.err;
  EXPECT_EQ(modeOf(out), 0700u);
  EXPECT_EQ(modeOf(out + "/node-1.key"), 0600u);
  EXPECT_EQ(read(out + "/ca.crt"), read(pki("ca.crt")));
  const std::string chain = read(out + "/node-1.crt");
  EXPECT_EQ(verifyLeaf(read(out + "/ca.crt"), chain, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  auto info = tls::inspectCertificate(chain);
  EXPECT_EQ(info->identity, tls::Identity::node("node-1"));
  EXPECT_TRUE(info->dns_names.empty());  // the identity is the URI SAN only
  EXPECT_LT(info->not_after - info->not_before, std::chrono::days(11));
  EXPECT_NE(issue.out.find(out + "/node-1.crt (node/node-1"), std::string::npos) << issue.out;
}

TEST_F(PkiCommandsTest, IssueClientIntoTheCurrentDirectory) {
  initCa();
  const fs::path previous = fs::current_path();
  fs::create_directory(dir_.file("cwd"));
  fs::current_path(dir_.file("cwd"));
  Outcome issue = run({"certs", "issue", "--client", "ci-bot", "--data-dir", data()});
  fs::current_path(previous);
  ASSERT_EQ(issue.code, 0) << issue.err;
  auto info = tls::inspectCertificate(read(dir_.file("cwd/ci-bot.crt")));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->identity, tls::Identity::client("ci-bot"));
  EXPECT_EQ(modeOf(dir_.file("cwd/ci-bot.key")), 0600u);
  EXPECT_TRUE(fs::exists(dir_.file("cwd/ca.crt")));
}

TEST_F(PkiCommandsTest, BadInputWritesNothing) {
  Outcome no_ca = run({"certs", "issue", "--node", "n1", "--data-dir", data(), "--out", dir_.file("o")});
  EXPECT_EQ(no_ca.code, 1);
  EXPECT_NE(no_ca.err.find("ca init"), std::string::npos) << no_ca.err;

  initCa();
  const std::vector<std::vector<std::string>> refused = {
      {"--node", "Node_1"},
      {"--node", ""},
      {"--client", std::string(64, 'c')},
      {"--node", "n1", "--ip", "300.0.0.1"},
      {"--server", "--dns", "bad name"},
      {"--client", "c", "--dns", "c.example.com"},
  };
  for (auto args : refused) {
    args.insert(args.begin(), {"certs", "issue", "--data-dir", data(), "--out", dir_.file("o")});
    Outcome issue = run(args);
    EXPECT_EQ(issue.code, 1) << args.back() << ": " << issue.out;
    EXPECT_FALSE(issue.err.empty());
  }
  EXPECT_FALSE(fs::exists(dir_.file("o")));
  EXPECT_FALSE(fs::exists(pki("server.crt")));
}

}  // namespace
}  // namespace zp::server
