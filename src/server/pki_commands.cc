#include "server/admin_commands.h"

namespace zp::server {

void addPkiCommands(CLI::App&, int&) {}

}  // namespace zp::server
