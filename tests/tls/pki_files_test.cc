// The PKI's files (tls/pki.h): atomic writes with exact modes, bounded reads,
// private directories, and saving/loading the CA.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/temp_dir.h"
#include "tls/pki.h"

namespace zp::tls {
namespace {

namespace fs = std::filesystem;
using testsupport::TempDir;

unsigned modeOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0xffff;
  return info.st_mode & 07777;
}

// Sets the process umask for a scope.
class Umask {
 public:
  explicit Umask(mode_t mask) : previous_(::umask(mask)) {}
  ~Umask() { ::umask(previous_); }

 private:
  mode_t previous_;
};

TEST(FilesTest, WriteAtomicallyHasExactlyTheModeAndReplaces) {
  TempDir dir("zp-pki-files");
  const std::string path = dir.file("key.pem");
  {
    Umask open_umask(0);
    ASSERT_TRUE(writeFileAtomically(path, "first", 0600));
  }
  EXPECT_EQ(modeOf(path), 0600u);
  {
    Umask strict_umask(077);
    ASSERT_TRUE(writeFileAtomically(path, "second", 0644));
  }
  EXPECT_EQ(modeOf(path), 0644u);
  EXPECT_EQ(readFile(path), "second");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary file is left behind";
}

TEST(FilesTest, WriteIntoAMissingDirectoryFails) {
  TempDir dir("zp-pki-files");
  auto written = writeFileAtomically(dir.file("absent/x"), "x", 0600);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Code::kUnavailable);
  EXPECT_NE(written.error().message.find("absent"), std::string::npos);
}

TEST(FilesTest, ReadFile) {
  TempDir dir("zp-pki-files");
  auto missing = readFile(dir.file("nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
  EXPECT_EQ(readFile(dir.path().string()).error().code, Code::kInvalidArgument) << "a directory";
  ASSERT_TRUE(writeFileAtomically(dir.file("big"), std::string(1024 * 1024 + 1, 'x'), 0600));
  EXPECT_EQ(readFile(dir.file("big")).error().code, Code::kInvalidArgument);
  ASSERT_TRUE(writeFileAtomically(dir.file("empty"), "", 0600));
  EXPECT_EQ(readFile(dir.file("empty")), "");
}

TEST(FilesTest, MakePrivateDirectory) {
  TempDir dir("zp-pki-files");
  Umask open_umask(0);
  const std::string nested = dir.file("a/b/c");
  ASSERT_TRUE(makePrivateDirectory(nested));
  EXPECT_EQ(modeOf(dir.file("a")), 0700u);
  EXPECT_EQ(modeOf(nested), 0700u);
  ASSERT_TRUE(makePrivateDirectory(nested)) << "existing is fine";
  ::chmod(nested.c_str(), 0755);
  ASSERT_TRUE(makePrivateDirectory(nested));
  EXPECT_EQ(modeOf(nested), 0755u) << "an existing directory keeps its mode";
  ASSERT_TRUE(writeFileAtomically(dir.file("file"), "x", 0600));
  EXPECT_FALSE(makePrivateDirectory(dir.file("file/sub")));
  EXPECT_FALSE(makePrivateDirectory(""));
}

TEST(CaFilesTest, SaveLoadAndNeverOverwrite) {
  TempDir dir("zp-pki-files");
  const std::string pki = dir.file("data/pki");
  auto ca = CertificateAuthority::create(KeyType::kEcP256, "files CA");
  ASSERT_TRUE(ca);
  {
    Umask open_umask(0);
    ASSERT_TRUE(ca->save(pki));
  }
  EXPECT_EQ(modeOf(pki), 0700u);
  EXPECT_EQ(modeOf(pki + "/ca.key"), 0600u);
  EXPECT_EQ(modeOf(pki + "/ca.crt"), 0644u);
  EXPECT_EQ(readFile(pki + "/ca.crt"), ca->certPem());

  auto loaded = CertificateAuthority::load(pki);
  ASSERT_TRUE(loaded) << loaded.error().toString();
  EXPECT_EQ(loaded->fingerprint(), ca->fingerprint());
  auto issued = loaded->issue(*PrivateKey::generate(KeyType::kEd25519),
                              CertProfile{.identity = Identity::server()});
  EXPECT_TRUE(issued);

  auto other = CertificateAuthority::create(KeyType::kEd25519, "other CA");
  ASSERT_TRUE(other);
  auto overwrite = other->save(pki);
  ASSERT_FALSE(overwrite);
  EXPECT_EQ(overwrite.error().code, Code::kAlreadyExists);
  EXPECT_EQ(CertificateAuthority::load(pki)->fingerprint(), ca->fingerprint());

  fs::remove(pki + "/ca.crt");
  auto half = other->save(pki);
  ASSERT_FALSE(half) << "ca.key alone also blocks";
  EXPECT_EQ(half.error().code, Code::kAlreadyExists);
}

TEST(CaFilesTest, LoadSaysWhatIsMissing) {
  TempDir dir("zp-pki-files");
  auto absent = CertificateAuthority::load(dir.file("pki"));
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, Code::kNotFound);
  EXPECT_NE(absent.error().message.find("ca init"), std::string::npos) << absent.error().message;

  auto ca = CertificateAuthority::create(KeyType::kEcP256, "files CA");
  ASSERT_TRUE(ca && ca->save(dir.file("pki")));
  fs::remove(dir.file("pki/ca.key"));
  auto no_key = CertificateAuthority::load(dir.file("pki"));
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().code, Code::kNotFound);
  EXPECT_NE(no_key.error().message.find("ca.key"), std::string::npos);

  ASSERT_TRUE(writeFileAtomically(dir.file("pki/ca.key"), "garbage", 0600));
  auto garbage = CertificateAuthority::load(dir.file("pki"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Code::kInvalidArgument);
}

}  // namespace
}  // namespace zp::tls
