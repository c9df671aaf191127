#pragma once
// zoneplane-server's offline subcommands, run instead of the daemon when the
// first argument names one (docs/architecture.md §9.1, §9.3):
//
//   zoneplane-server ca init [--data-dir D] [--key-type ec-p256|ed25519] [--validity-days N] [--force]
//   zoneplane-server certs issue (--server | --node ID | --client NAME) [--data-dir D]
//                                [--out DIR] [--dns NAME]... [--ip ADDR]... [--validity-days N]
//                                [--key-type T]
//   zoneplane-server tokens create (--name N --role admin|operator|viewer | --join)
//                                  [--expires-in DURATION] [--data-dir D] [--database PATH]
//
// They print what they made on stdout (a token: the token alone on the first
// line) and errors on stderr; exit 0 on success, 1 on failure, 2 on usage errors.

#include <CLI/CLI.hpp>
#include <string_view>

namespace zp::server {

// "ca", "certs", "tokens".
bool isAdminCommand(std::string_view first_argument);
int runAdminCommand(int argc, char** argv);

// Each registers its subcommands on `app`; a callback stores its exit code in
// `exit_code` (pki_commands.cc, token_commands.cc).
void addPkiCommands(CLI::App& app, int& exit_code);
void addTokenCommands(CLI::App& app, int& exit_code);

}  // namespace zp::server
