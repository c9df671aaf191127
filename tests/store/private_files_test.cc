// The database file, its -wal/-shm files and a directory of its own are
// owner-only; existing ones are tightened when the store opens them.

#include "store/private_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "store/sqlite.h"
#include "store/sqlite_store.h"

namespace zp::store {
namespace {

namespace fs = std::filesystem;

mode_t modeOf(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 01000;  // never a real mode: fails the comparison
  return st.st_mode & 07777;
}

// A temporary directory (0700) with a subdirectory "db" of mode 0755, as a
// package manager or an administrator would leave it; umask 022 meanwhile.
class PrivateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_umask_ = ::umask(022);
    std::string pattern = (fs::temp_directory_path() / "zp-private-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ / "db";
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
    ASSERT_EQ(modeOf(dir_), 0755u);
  }
  void TearDown() override {
    ::umask(old_umask_);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Opens the store and writes one record, so the WAL has content.
  void openAndWrite(const std::string& path) {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error().toString();
    WorkloadRecord record;
    record.spec.id = "secret-1";
    record.spec.image = "busybox:1.36";
    record.spec.runtime_class = "native";
    record.spec.env = {{"TOKEN", "hunter2"}};
    record.status.id = "secret-1";
    ASSERT_TRUE((*store)->apply({PutWorkload{record}}));
    ASSERT_TRUE(fs::exists(path + "-wal"));
    ASSERT_TRUE(fs::exists(path + "-shm"));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      EXPECT_EQ(modeOf(path + suffix), 0600u) << path << suffix;
    }
  }

  mode_t old_umask_ = 022;
  fs::path root_, dir_;
};

TEST_F(PrivateFilesTest, NewDatabaseFilesAreOwnerOnlyAndItsDirectoryToo) {
  const std::string path = (dir_ / "zoneplane.db").string();
  openAndWrite(path);
  EXPECT_EQ(modeOf(dir_), 0700u);
}

TEST_F(PrivateFilesTest, ExistingFilesAreTightenedAtOpen) {
  const std::string path = (dir_ / "zoneplane.db").string();
  // Created the old way: SQLite's default mode under umask 022 is 0644. The
  // connection stays open, so the -wal and -shm files stay too.
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->queryText("PRAGMA journal_mode=WAL"));
  ASSERT_TRUE(db->exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);"));
  ASSERT_EQ(modeOf(path), 0644u);
  ASSERT_EQ(modeOf(path + "-wal"), 0644u);
  ASSERT_EQ(modeOf(path + "-shm"), 0644u);
  std::ofstream(path + "-journal") << "";  // a stale journal is tightened too
  ASSERT_EQ(::chmod((path + "-journal").c_str(), 0644), 0);
  ASSERT_TRUE(makeDatabaseFilesPrivate(path));
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    EXPECT_EQ(modeOf(path + suffix), 0600u) << suffix;
  }
  EXPECT_EQ(modeOf(dir_), 0700u);
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2);"));  // still usable
}

TEST_F(PrivateFilesTest, ASharedDirectoryKeepsItsModeButTheFilesArePrivate) {
  std::ofstream(dir_ / "notes.txt") << "someone else's file\n";
  const std::string path = (dir_ / "zoneplane.db").string();
  openAndWrite(path);
  EXPECT_EQ(modeOf(dir_), 0755u);
}

TEST_F(PrivateFilesTest, SymbolicLinksAreRefusedNotFollowed) {
  // A link planted where the WAL will be must not make the server chmod (or
  // write) what it points at.
  const fs::path target = root_ / "someone-elses-file";
  std::ofstream(target) << "x";
  ASSERT_EQ(::chmod(target.c_str(), 0644), 0);
  const std::string path = (dir_ / "zoneplane.db").string();
  fs::create_symlink(target, path + "-wal");
  auto made = makeDatabaseFilesPrivate(path);
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message.find("symbolic link"), std::string::npos) << made.error().message;
  EXPECT_EQ(modeOf(target), 0644u);
  fs::remove(path + "-wal");
  fs::remove(path);
  fs::create_symlink(target, path);
  EXPECT_FALSE(makeDatabaseFilesPrivate(path));
  EXPECT_EQ(modeOf(target), 0644u);
}

TEST_F(PrivateFilesTest, MemoryDatabasesAndMissingDirectories) {
  EXPECT_TRUE(makeDatabaseFilesPrivate(":memory:"));
  auto missing = makeDatabaseFilesPrivate((dir_ / "no" / "x.db").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kUnavailable);
  EXPECT_NE(missing.error().message.find("no/x.db"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace zp::store
