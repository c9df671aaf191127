#pragma once
// The web dashboard's files (index.html, app.js, ...), compiled into the
// server by zp_embed_files (cmake/EmbedFiles.cmake; docs/architecture.md
// §7.1). Immutable, static storage; safe to read from any thread.

#include <span>

#include "common/embedded_file.h"

namespace zp::server::ui {

// name: the file name, e.g. "app.js" (no '/'); content: its bytes.
using Asset = EmbeddedFile;

// Every embedded file, index.html among them.
std::span<const Asset> embeddedAssets();

}  // namespace zp::server::ui
