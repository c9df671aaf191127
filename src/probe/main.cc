// zoneplane-probe: prints what this process can see of its isolation as one
// JSON line (docs/architecture.md §10.1) and exits 0; bad arguments exit 2.
// Statically linked: its image holds this binary and nothing else.

#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "common/build_info.h"
#include "probe/args.h"
#include "probe/collect.h"
#include "probe/report_json.h"

namespace {

// Writes all of `text` to `fd`; false when the write fails.
bool writeAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  auto parsed = zp::probe::parseProbeArgs(args);
  if (!parsed) {
    std::string message = "zoneplane-probe: " + parsed.error().message + "\n";
    writeAll(STDERR_FILENO, message);
    writeAll(STDERR_FILENO, zp::probe::probeUsage());
    return 2;
  }
  if (parsed->help) return writeAll(STDOUT_FILENO, zp::probe::probeUsage()) ? 0 : 1;
  if (parsed->version) {
    return writeAll(STDOUT_FILENO, zp::versionText("zoneplane-probe") + "\n") ? 0 : 1;
  }
  std::string line = zp::probe::encodeReport(zp::probe::collectReport(parsed->options));
  line.push_back('\n');
  return writeAll(STDOUT_FILENO, line) ? 0 : 1;
}
