#include "server/ui/ui_assets.h"

#include "embedded/ui_files.h"

namespace zp::server::ui {

std::span<const Asset> embeddedAssets() { return embedded::ui_files(); }

}  // namespace zp::server::ui
