#include "bench_machine.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace zp::bench {

namespace {

// The first word of a sysfs file, "" if it cannot be read.
std::string firstWord(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string word;
  in >> word;
  return word;
}

}  // namespace

std::vector<std::string> machineNotes() {
  std::vector<std::string> notes;
  notes.push_back(std::to_string(std::thread::hardware_concurrency()) +
                  " CPUs, shared by the server, the simulated fleet and the clients");
  const std::filesystem::path kdamonds = "/sys/kernel/mm/damon/admin/kdamonds";
  std::error_code ec;
  std::filesystem::directory_iterator entry(kdamonds, ec), end;
  for (; !ec && entry != end; entry.increment(ec)) {
    const std::string name = entry->path().filename().string();
    if (!entry->is_directory(ec)) continue;
    const std::string state = firstWord(entry->path() / "state");
    if (state.empty()) {
      notes.push_back("DAMON kdamond " + name + ": its state cannot be read (as root it can)");
      continue;
    }
    if (state != "on") continue;
    const auto context = entry->path() / "contexts" / "0";
    const std::string operations = firstWord(context / "operations");
    const std::string sample_us =
        firstWord(context / "monitoring_attrs" / "intervals" / "sample_us");
    std::string note =
        "DAMON kdamond " + name + " is on (" + (operations.empty() ? std::string("?") : operations);
    if (!sample_us.empty()) {
      note += ", a sample every " +
              std::to_string(std::strtoll(sample_us.c_str(), nullptr, 10) / 1000) + " ms";
    }
    note += "): each sample can pause every process for a few ms";
    notes.push_back(std::move(note));
  }
  return notes;
}

}  // namespace zp::bench
