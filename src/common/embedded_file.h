#pragma once
// A file compiled into the binary by zp_embed_files (cmake/EmbedFiles.cmake):
// its base name and its bytes, both in static storage. Plain value.

#include <span>
#include <string_view>

namespace zp {

struct EmbeddedFile {
  std::string_view name;     // base name, e.g. "openapi.json"
  std::string_view content;  // the file's bytes, exactly
};

// The file of `files` named `name`, or nullptr.
inline const EmbeddedFile* findEmbedded(std::span<const EmbeddedFile> files,
                                        std::string_view name) {
  for (const auto& file : files) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

}  // namespace zp
