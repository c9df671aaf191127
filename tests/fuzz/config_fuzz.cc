// Fuzz target: the TOML configuration files of the agent (agent/config.h)
// and of the server (server/config.h). Each input is one file's content,
// given to both parsers and, when it parses, to their validation.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/config.h"
#include "fuzz_check.h"
#include "server/config.h"

using zp::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  if (auto agent = zp::agent::parseConfig(text, "agent.toml")) {
    if (zp::agent::validateConfig(*agent)) {
      (void)zp::agent::tlsFiles(*agent);
      check(!agent->node_id.empty(), "a valid agent configuration names its node", text);
    }
  } else {
    check(!agent.error().message.empty(), "a refused agent configuration says why", text);
  }

  if (auto server = zp::server::parseConfigToml(text, "server.toml")) {
    if (zp::server::validateConfig(*server)) {
      (void)zp::server::databasePath(*server);
      (void)zp::server::serverTlsFiles(*server);
    }
  } else {
    check(!server.error().message.empty(), "a refused server configuration says why", text);
  }
  return 0;
}
