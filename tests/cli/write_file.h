#pragma once
// Writes a test's input file with the permissions the test wants.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace zp::cli::testing {

// Writes `text` to DIR/name (creating parent directories) with `mode`;
// returns the path.
inline std::string writeFile(const std::filesystem::path& dir, const std::string& name,
                             const std::string& text, unsigned mode = 0600) {
  const std::filesystem::path file = dir / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
  ::chmod(file.c_str(), mode);
  return file.string();
}

}  // namespace zp::cli::testing
