#include "probe/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "probe/parse.h"
#include "probe/report.h"

namespace zp::probe {

FileText readFileBounded(const std::string& path, std::size_t max_bytes) {
  FileText out;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    out.error = errno;
    return out;
  }
  // One byte more than asked tells whether the file was cut.
  out.text.resize(max_bytes + 1);
  std::size_t have = 0;
  while (have < out.text.size()) {
    ssize_t n = ::read(fd, out.text.data() + have, out.text.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = errno;
      break;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (out.error != 0) {
    out.text.clear();
    return out;
  }
  out.truncated = have > max_bytes;
  out.text.resize(std::min(have, max_bytes));
  return out;
}

std::string errorText(int err) { return std::strerror(err); }

void Notes::failed(std::string_view path, int err) { add(path, errorText(err)); }

void Notes::add(std::string_view path, std::string_view why) {
  if (entries_.size() + 1 >= kMaxUnreadable) {
    if (!overflowed_) {
      entries_.push_back("unreadable: more entries left out");
      overflowed_ = true;
    }
    return;
  }
  std::string entry(path);
  entry += ": ";
  entry += why;
  entries_.push_back(sanitizeText(entry, 512));
}

}  // namespace zp::probe
