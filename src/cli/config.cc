#include "cli/config.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "cli/http_client.h"
#include "cli/server_url.h"

namespace zp::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kKnownKeys = "server, token, ca_cert";

std::string octal(unsigned mode) {
  std::ostringstream out;
  out << '0' << std::oct << (mode & 0777);
  return out.str();
}

// One level's value, if given there: flags and the file as they are, the
// environment only when not empty.
void pick(std::string& value, std::string& source, const std::optional<std::string>& given,
          std::string_view name) {
  if (!given) return;
  value = *given;
  source = std::string(name);
}

}  // namespace

std::optional<std::string> defaultConfigPath(const std::optional<std::string>& xdg_config_home,
                                             const std::optional<std::string>& home) {
  // The XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and ignored.
  if (xdg_config_home && !xdg_config_home->empty() && xdg_config_home->front() == '/') {
    return (fs::path(*xdg_config_home) / "zoneplane" / "config.toml").string();
  }
  if (home && !home->empty()) {
    return (fs::path(*home) / ".config" / "zoneplane" / "config.toml").string();
  }
  return std::nullopt;
}

Result<ConfigFile> parseConfigFile(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return fail(Code::kInvalidArgument, msg.str(), "config");
  }
  ConfigFile file;
  file.path = path;
  for (const auto& [toml_key, node] : root) {
    const std::string key(toml_key.str());
    std::optional<std::string>* slot = key == "server"    ? &file.server
                                       : key == "token"   ? &file.token
                                       : key == "ca_cert" ? &file.ca_cert
                                                          : nullptr;
    if (slot == nullptr) {
      return fail(Code::kInvalidArgument,
                  "unknown key \"" + key + "\" in " + path +
                      " (known keys: " + std::string(kKnownKeys) + ")",
                  "config");
    }
    const auto* value = node.as_string();
    if (value == nullptr) {
      return fail(Code::kInvalidArgument, key + " in " + path + " must be a string", "config");
    }
    if (!value->get().empty()) *slot = value->get();
  }
  if (file.ca_cert && fs::path(*file.ca_cert).is_relative()) {
    file.ca_cert = (fs::path(path).parent_path() / *file.ca_cert).lexically_normal().string();
  }
  return file;
}

Status checkConfigMode(const std::string& path, unsigned mode, bool holds_token) {
  if (!holds_token || (mode & 077) == 0) return ok();
  return fail(Code::kPermissionDenied,
              "permissions " + octal(mode) + " for \"" + path +
                  "\" are too open: it holds a token, so no one but its owner may read it; "
                  "run `chmod 600 " +
                  path + "`",
              "config");
}

Result<ConfigFile> loadConfigFile(const std::string& path, bool must_exist) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    if (!must_exist) return ConfigFile{};
    return fail(Code::kNotFound, "config file \"" + path + "\" does not exist", "config");
  }
  if (ec) {
    return fail(Code::kInvalidArgument, "cannot read config file \"" + path + "\": " + ec.message(),
                "config");
  }
  if (!fs::is_regular_file(status)) {
    return fail(Code::kInvalidArgument, "config file \"" + path + "\" is not a regular file",
                "config");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(Code::kInvalidArgument,
                "cannot read config file \"" + path + "\": " + std::strerror(errno), "config");
  }
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) {
      return fail(Code::kInvalidArgument, "config file \"" + path + "\" is larger than 64 KiB",
                  "config");
    }
  }
  auto file = parseConfigFile(text, path);
  if (!file) return file;
  const auto mode = static_cast<unsigned>(status.permissions());
  if (auto checked = checkConfigMode(path, mode, file->token.has_value()); !checked) {
    return fail(checked.error());
  }
  return file;
}

Settings resolveSettings(const SettingInputs& flags, const SettingInputs& env,
                         const ConfigFile& file) {
  auto nonEmpty = [](const std::optional<std::string>& v) {
    return v && !v->empty() ? v : std::nullopt;
  };
  Settings s;
  s.server = std::string(kDefaultServerUrl);
  s.server_source = "the default";
  s.token_source = "none";
  s.ca_cert_source = "the system's trust store";
  pick(s.server, s.server_source, file.server, file.path);
  pick(s.token, s.token_source, file.token, file.path);
  pick(s.ca_cert, s.ca_cert_source, file.ca_cert, file.path);
  pick(s.server, s.server_source, nonEmpty(env.server), kServerEnvVar);
  pick(s.token, s.token_source, nonEmpty(env.token), kTokenEnvVar);
  pick(s.ca_cert, s.ca_cert_source, nonEmpty(env.ca_cert), kCaCertEnvVar);
  pick(s.server, s.server_source, flags.server, "--server");
  pick(s.token, s.token_source, flags.token, "--token");
  pick(s.ca_cert, s.ca_cert_source, flags.ca_cert, "--ca-cert");
  return s;
}

Status validateSettings(const Settings& settings) {
  if (!settings.token.empty() && !isValidBearerToken(settings.token)) {
    return fail(Code::kInvalidArgument,
                "the token from " + settings.token_source +
                    " is not a zoneplane token (letters, digits and -._~+/ only, as "
                    "`tokens create` prints it)",
                "token");
  }
  return ok();
}

}  // namespace zp::cli
