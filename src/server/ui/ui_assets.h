#pragma once
// The web dashboard's files (index.html, app.js, ...), embedded into the
// server at build time: src/server/ui/embed_assets.cmake writes their bytes
// into a generated source (docs/architecture.md §7.1). Immutable, static
// storage; safe to read from any thread.

#include <span>
#include <string_view>

namespace zp::server::ui {

struct Asset {
  std::string_view name;     // the file name, e.g. "app.js" (no '/')
  std::string_view content;  // the file's bytes
};

// Every embedded file, index.html among them.
std::span<const Asset> embeddedAssets();

}  // namespace zp::server::ui
