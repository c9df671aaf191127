#include "server/admin_commands.h"

#include "common/build_info.h"
#include "common/logging.h"

namespace zp::server {

bool isAdminCommand(std::string_view first_argument) {
  return first_argument == "ca" || first_argument == "certs" || first_argument == "tokens";
}

int runAdminCommand(int argc, char** argv) {
  // stdout carries what the commands print (a token alone on its line):
  // logging goes to stderr, warnings and errors only.
  (void)setupLogging("warn");
  CLI::App app{"zoneplane-server: cluster CA, certificates and tokens"};
  app.set_version_flag("--version", versionText("zoneplane-server"));
  app.require_subcommand(1);
  int exit_code = 0;
  addPkiCommands(app, exit_code);
  addTokenCommands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; any other parse error is a
    // usage error (CLI11's own codes are 100 and up).
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace zp::server
