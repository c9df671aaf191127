#include "store/private_files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

namespace zp::store {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirectoryMode = 0700;

std::unexpected<Error> systemError(const std::string& what, const std::string& path, int err) {
  return fail(Code::kUnavailable, what + " \"" + path + "\": " + std::strerror(err), "database");
}

// Sets `mode` on an existing file or directory; a missing one is fine. Works
// on the opened descriptor and never follows a symbolic link (a link planted
// in a shared directory must not make the server chmod its target): a link is
// an error.
Status restrictMode(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return ok();
    if (errno == ELOOP) return systemError("refusing a symbolic link at", path, errno);
    return systemError("cannot open", path, errno);
  }
  struct stat st {};
  Status result = ok();
  if (::fstat(fd, &st) != 0) {
    result = systemError("cannot inspect", path, errno);
  } else if ((st.st_mode & 07777) != mode) {
    if (::fchmod(fd, mode) != 0) {
      result = systemError("cannot make private", path, errno);
    } else {
      spdlog::info("store: mode of \"{}\" changed from {:o} to {:o}", path, st.st_mode & 07777,
                   mode);
    }
  }
  ::close(fd);
  return result;
}

Status createPrivate(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    if (errno == ELOOP) return systemError("refusing a symbolic link at", path, errno);
    return systemError("cannot create", path, errno);
  }
  ::close(fd);
  return ok();
}

// The directory holds nothing but the database and its companions.
bool dedicated(const fs::path& dir, const std::string& base) {
  std::set<std::string> expected{base};
  for (const char* suffix : kDatabaseCompanions) expected.insert(base + suffix);
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!expected.contains(it->path().filename().string())) return false;
  }
  return !ec;
}

Status restrictDirectory(const fs::path& file) {
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return systemError("cannot inspect", dir.string(), errno);
  if ((st.st_mode & 077) == 0) return ok();
  const bool mine = st.st_uid == ::geteuid();
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  if (mine && !sticky && dedicated(dir, file.filename().string())) {
    return restrictMode(dir.string(), kDirectoryMode);
  }
  spdlog::warn(
      "store: the database directory \"{}\" (mode {:o}) is shared, so its mode is left as it is; "
      "the database files themselves are private (mode 600). Use a directory of its own.",
      dir.string(), st.st_mode & 07777);
  return ok();
}

}  // namespace

Status makeDatabaseFilesPrivate(const std::string& path) {
  if (path.empty() || path == ":memory:") return ok();
  if (auto s = createPrivate(path); !s) return s;
  if (auto s = restrictMode(path, kFileMode); !s) return s;
  for (const char* suffix : kDatabaseCompanions) {
    if (auto s = restrictMode(path + suffix, kFileMode); !s) return s;
  }
  return restrictDirectory(fs::path(path));
}

}  // namespace zp::store
