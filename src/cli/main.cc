// zoneplane: the command-line client of zoneplane-server. Wires argv, the
// environment and the standard streams into runCli; the one place that catches.

#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    auto variable = [](const char* name) -> std::optional<std::string> {
      const char* value = std::getenv(name);
      return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
    };
    zp::cli::CliEnvironment env{variable("ZONEPLANE_SERVER"), variable("ZONEPLANE_TOKEN"),
                                variable("ZONEPLANE_CA_CERT"), variable("XDG_CONFIG_HOME"),
                                variable("HOME")};
    int code = zp::cli::runCli(args, env, std::cin, std::cout, std::cerr);
    std::cout.flush();
    return code;
  } catch (const std::exception& e) {
    std::cerr << "error: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: internal error\n";
  }
  return zp::cli::kExitRequestError;
}
