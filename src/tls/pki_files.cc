// Files of the PKI (pki.h): atomic writes with exact modes, bounded reads,
// private directories, and the CA's two files. Blocking POSIX I/O.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "tls/pki.h"
#include "tls/pki_internal.h"

namespace zp::tls {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxFileBytes = 1024 * 1024;

std::string systemReason(int error) { return std::error_code(error, std::generic_category()).message(); }

Error unavailable(std::string_view verb, const std::string& path, int error) {
  return Error{Code::kUnavailable, std::string(verb) + " " + path + ": " + systemReason(error), {}};
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may be the first to see.
  int close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

Status syncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return fail(unavailable("cannot sync", dir, errno));
  return ok();
}

// writeFileAtomically(); with `replace` false an existing `path` is left
// alone (kAlreadyExists): the temporary file is hard-linked, never renamed.
Status writeFile(const std::string& path, std::string_view content, unsigned mode, bool replace) {
  const fs::path target(path);
  if (target.filename().empty()) {
    return fail(Code::kInvalidArgument, "not a file path: \"" + path + "\"", "path");
  }
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string temporary = (fs::path(dir) / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  Fd fd(::mkostemp(temporary.data(), O_CLOEXEC));
  if (fd.get() < 0) return fail(unavailable("cannot create a file in", dir, errno));
  bool keep_temporary = false;
  struct Remove {
    const std::string& path;
    const bool& keep;
    ~Remove() {
      if (!keep) ::unlink(path.c_str());
    }
  } remove{temporary, keep_temporary};

  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return fail(unavailable("cannot set the mode of", path, errno));
  }
  for (std::size_t written = 0; written < content.size();) {
    ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(unavailable("cannot write", path, errno));
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(unavailable("cannot sync", path, errno));
  if (fd.close() != 0) return fail(unavailable("cannot write", path, errno));
  if (replace) {
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      return fail(unavailable("cannot replace", path, errno));
    }
    keep_temporary = true;  // it is `path` now
  } else if (::link(temporary.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return fail(Code::kAlreadyExists, path + " exists", "path");
    return fail(unavailable("cannot create", path, errno));
  }
  return syncDirectory(dir);
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 || errno != ENOENT;
}

}  // namespace

Status writeFileAtomically(const std::string& path, std::string_view content, unsigned mode) {
  return writeFile(path, content, mode, true);
}

Result<std::string> readFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 && errno == ENOENT) return fail(Code::kNotFound, "no file " + path, "path");
  if (fd.get() < 0) return fail(unavailable("cannot read", path, errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return fail(unavailable("cannot read", path, errno));
  if (!S_ISREG(info.st_mode)) return fail(Code::kInvalidArgument, path + " is not a file", "path");
  if (static_cast<std::size_t>(info.st_size) > kMaxFileBytes) {
    return fail(Code::kInvalidArgument, path + " is larger than 1 MiB", "path");
  }
  std::string content;
  char buffer[16 * 1024];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(unavailable("cannot read", path, errno));
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > kMaxFileBytes) {
      return fail(Code::kInvalidArgument, path + " is larger than 1 MiB", "path");
    }
  }
  return content;
}

Status makePrivateDirectory(const std::string& dir) {
  if (dir.empty()) return fail(Code::kInvalidArgument, "empty directory path", "dir");
  fs::path prefix;
  for (const auto& part : fs::path(dir)) {
    prefix /= part;
    const std::string current = prefix.string();
    if (::mkdir(current.c_str(), 0700) == 0) {
      // mkdir's mode passes through the umask; 0700 exactly.
      if (::chmod(current.c_str(), 0700) != 0) {
        return fail(unavailable("cannot set the mode of", current, errno));
      }
      continue;
    }
    if (errno != EEXIST) return fail(unavailable("cannot create", current, errno));
    struct stat info {};
    if (::stat(current.c_str(), &info) != 0) return fail(unavailable("cannot read", current, errno));
    if (!S_ISDIR(info.st_mode)) {
      return fail(Code::kInvalidArgument, current + " is not a directory", "dir");
    }
  }
  return ok();
}

Result<CertificateAuthority> CertificateAuthority::load(const std::string& dir) {
  const std::string cert_path = (fs::path(dir) / "ca.crt").string();
  const std::string key_path = (fs::path(dir) / "ca.key").string();
  auto missing = [&](const Error& error, const std::string& path) {
    if (error.code != Code::kNotFound) return fail(error);
    return fail(Code::kNotFound,
                "no CA in " + dir + " (" + path + " is missing): run `zoneplane-server ca init` first",
                "data_dir");
  };
  auto cert = readFile(cert_path);
  if (!cert) return missing(cert.error(), cert_path);
  auto key = readFile(key_path);
  if (!key) return missing(key.error(), key_path);
  auto ca = fromPem(*cert, *key);
  if (!ca) return fail(ca.error().code, "the CA in " + dir + ": " + ca.error().message);
  return ca;
}

Status CertificateAuthority::save(const std::string& dir) const {
  const std::string cert_path = (fs::path(dir) / "ca.crt").string();
  const std::string key_path = (fs::path(dir) / "ca.key").string();
  if (exists(cert_path) || exists(key_path)) {
    return fail(Code::kAlreadyExists,
                "a CA already exists in " + dir + ": an existing CA is never overwritten",
                "data_dir");
  }
  if (auto s = makePrivateDirectory(dir); !s) return s;
  const std::string key_pem = key_.pem();
  if (key_pem.empty()) return fail(Code::kInternal, "cannot encode the CA key");
  if (auto s = writeFile(key_path, key_pem, 0600, false); !s) return s;
  if (auto s = writeFile(cert_path, cert_pem_, 0644, false); !s) {
    ::unlink(key_path.c_str());  // written just now: no CA is half-saved
    return s;
  }
  return ok();
}

}  // namespace zp::tls
