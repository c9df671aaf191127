#include "server/admin_commands.h"

namespace zp::server {

void addTokenCommands(CLI::App&, int&) {}

}  // namespace zp::server
