#pragma once
// Where the CLI finds its server, token and CA (docs/architecture.md §9.3):
// the config file (~/.config/zoneplane/config.toml, or $XDG_CONFIG_HOME's,
// or --config FILE), overridden by ZONEPLANE_SERVER / ZONEPLANE_TOKEN /
// ZONEPLANE_CA_CERT, overridden by --server / --token / --ca-cert.
//
//   server = "https://127.0.0.1:7700"
//   token = "zp_0123456789ab.secret"
//   ca_cert = "ca.crt"          # relative: to the file's directory
//
// Parsing and resolving are pure; loadConfigFile() reads one file.

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace zp::cli {

inline constexpr std::string_view kTokenEnvVar = "ZONEPLANE_TOKEN";
inline constexpr std::string_view kCaCertEnvVar = "ZONEPLANE_CA_CERT";
// A config file larger than this is refused.
inline constexpr std::size_t kMaxConfigFileBytes = 64 * 1024;

// The keys a config file may hold; an unset key is nullopt (an empty string
// in the file counts as unset).
struct ConfigFile {
  std::string path;  // where it was read from; "" when there was none
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> ca_cert;  // made absolute against the file's directory
  bool operator==(const ConfigFile&) const = default;
};

// $XDG_CONFIG_HOME/zoneplane/config.toml when XDG_CONFIG_HOME is an absolute
// path, else $HOME/.config/zoneplane/config.toml; nullopt when neither is set.
std::optional<std::string> defaultConfigPath(const std::optional<std::string>& xdg_config_home,
                                             const std::optional<std::string>& home);

// Parses a config file's text. kInvalidArgument (field "config") naming
// `path` for TOML syntax errors (with line and column), unknown keys ("unknown
// key \"x\" in FILE (known keys: server, token, ca_cert)") and values that are
// not strings. Never quotes the token's value.
Result<ConfigFile> parseConfigFile(std::string_view text, const std::string& path);

// A file that holds a token must be readable by its owner only, as ssh wants
// of private keys: kPermissionDenied telling to `chmod 600` when `mode` has
// any group or other permission bit. `mode` is st_mode's permission bits.
Status checkConfigMode(const std::string& path, unsigned mode, bool holds_token);

// Reads, parses and checks the file at `path`. When it does not exist:
// kNotFound if `must_exist` (a --config that names a missing file), else an
// empty ConfigFile (path ""). Other read failures are kInvalidArgument.
Result<ConfigFile> loadConfigFile(const std::string& path, bool must_exist);

// One setting as given on one level: nullopt when not given there.
struct SettingInputs {
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> ca_cert;
};

// The effective settings and, for messages, where each came from ("--token",
// "ZONEPLANE_TOKEN", "/home/u/.config/zoneplane/config.toml", "the default").
struct Settings {
  std::string server;
  std::string token;    // "" for none
  std::string ca_cert;  // "" for the system's trust store
  std::string server_source;
  std::string token_source;
  std::string ca_cert_source;
  bool operator==(const Settings&) const = default;
};

// Flags win over the environment (a variable set to "" counts as unset),
// which wins over the file; `server` defaults to kDefaultServerUrl, the others
// to "". A flag given as "" is given: `--token ""` sends no token.
Settings resolveSettings(const SettingInputs& flags, const SettingInputs& env,
                         const ConfigFile& file);

// Checks the resolved settings before anything is sent: the token must be a
// valid bearer token (isValidBearerToken). kInvalidArgument naming the source,
// never the token.
Status validateSettings(const Settings& settings);

}  // namespace zp::cli
