// The CLI's settings: the config file, the environment and the flags.
#include "cli/config.h"

#include <gtest/gtest.h>

#include "cli/server_url.h"
#include "support/temp_dir.h"
#include "write_file.h"

namespace zp::cli {
namespace {

using testing::writeFile;
using testsupport::TempDir;

TEST(DefaultConfigPath, XdgConfigHomeThenHome) {
  EXPECT_EQ(defaultConfigPath("/x/cfg", "/home/u"), "/x/cfg/zoneplane/config.toml");
  EXPECT_EQ(defaultConfigPath(std::nullopt, "/home/u"), "/home/u/.config/zoneplane/config.toml");
  // The XDG spec: an empty or relative XDG_CONFIG_HOME is ignored.
  EXPECT_EQ(defaultConfigPath("", "/home/u"), "/home/u/.config/zoneplane/config.toml");
  EXPECT_EQ(defaultConfigPath("cfg", "/home/u"), "/home/u/.config/zoneplane/config.toml");
  EXPECT_EQ(defaultConfigPath(std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(defaultConfigPath(std::nullopt, ""), std::nullopt);
}

TEST(ParseConfigFile, ReadsTheThreeKeys) {
  auto file = parseConfigFile(R"(
# written by hand
server = "https://cp.example.com:7700"
token = "zp_0123456789ab.c2VjcmV0"
ca_cert = "/etc/zoneplane/ca.crt"
)",
                              "/home/u/.config/zoneplane/config.toml");
  ASSERT_TRUE(file.has_value()) << file.error().toString();
  EXPECT_EQ(file->path, "/home/u/.config/zoneplane/config.toml");
  EXPECT_EQ(file->server, "https://cp.example.com:7700");
  EXPECT_EQ(file->token, "zp_0123456789ab.c2VjcmV0");
  EXPECT_EQ(file->ca_cert, "/etc/zoneplane/ca.crt");
}

TEST(ParseConfigFile, ARelativeCaIsRelativeToTheFileAndEmptyValuesAreUnset) {
  auto file =
      parseConfigFile("ca_cert = \"certs/../ca.crt\"\ntoken = \"\"\n", "/etc/zp/config.toml");
  ASSERT_TRUE(file.has_value()) << file.error().toString();
  EXPECT_EQ(file->ca_cert, "/etc/zp/ca.crt");
  EXPECT_EQ(file->token, std::nullopt);
  EXPECT_EQ(file->server, std::nullopt);
}

TEST(ParseConfigFile, UnknownKeysWrongTypesAndSyntaxErrorsNameTheFile) {
  auto unknown = parseConfigFile("server = \"https://a\"\ncacert = \"x\"\n", "/c.toml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Code::kInvalidArgument);
  EXPECT_EQ(unknown.error().message,
            "unknown key \"cacert\" in /c.toml (known keys: server, token, ca_cert)");

  auto table = parseConfigFile("[server]\nurl = \"x\"\n", "/c.toml");
  ASSERT_FALSE(table.has_value());
  EXPECT_EQ(table.error().message, "server in /c.toml must be a string");

  auto number = parseConfigFile("token = 42\n", "/c.toml");
  ASSERT_FALSE(number.has_value());
  EXPECT_EQ(number.error().message, "token in /c.toml must be a string");

  auto syntax = parseConfigFile("server = \"unterminated\n", "/c.toml");
  ASSERT_FALSE(syntax.has_value());
  EXPECT_TRUE(syntax.error().message.starts_with("/c.toml:1:")) << syntax.error().message;
}

TEST(ParseConfigFile, ATokenIsNeverQuotedInErrors) {
  auto bad = parseConfigFile("token = \"zp_secretvalue\"\ntoken = \"zp_other\"\n", "/c.toml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message.find("secretvalue"), std::string::npos) << bad.error().message;
}

TEST(CheckConfigMode, ATokenNeedsAnOwnerOnlyFile) {
  EXPECT_TRUE(checkConfigMode("/c.toml", 0600, true).has_value());
  EXPECT_TRUE(checkConfigMode("/c.toml", 0400, true).has_value());
  EXPECT_TRUE(checkConfigMode("/c.toml", 0644, false).has_value());
  for (unsigned mode : {0640u, 0604u, 0620u, 0602u, 0610u, 0601u}) {
    auto refused = checkConfigMode("/c.toml", mode, true);
    ASSERT_FALSE(refused.has_value()) << std::oct << mode;
    EXPECT_EQ(refused.error().code, Code::kPermissionDenied);
  }
  EXPECT_EQ(checkConfigMode("/c.toml", 0644, true).error().message,
            "permissions 0644 for \"/c.toml\" are too open: it holds a token, so no one but its "
            "owner may read it; run `chmod 600 /c.toml`");
}

TEST(LoadConfigFile, ReadsChecksModeAndToleratesAMissingDefault) {
  TempDir dir;
  const std::string good = writeFile(dir.path(), "good.toml", "token = \"zp_a.b\"\n", 0600);
  auto loaded = loadConfigFile(good, true);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().toString();
  EXPECT_EQ(loaded->token, "zp_a.b");

  const std::string open = writeFile(dir.path(), "open.toml", "token = \"zp_a.b\"\n", 0644);
  auto refused = loadConfigFile(open, false);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Code::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("chmod 600 " + open), std::string::npos);

  const std::string no_token =
      writeFile(dir.path(), "server.toml", "server = \"https://a:1\"\n", 0644);
  EXPECT_TRUE(loadConfigFile(no_token, true).has_value());

  const std::string missing = dir.file("missing.toml");
  auto absent = loadConfigFile(missing, false);
  ASSERT_TRUE(absent.has_value()) << absent.error().toString();
  EXPECT_EQ(*absent, ConfigFile{});
  auto required = loadConfigFile(missing, true);
  ASSERT_FALSE(required.has_value());
  EXPECT_EQ(required.error().code, Code::kNotFound);
  EXPECT_EQ(required.error().message, "config file \"" + missing + "\" does not exist");

  auto directory = loadConfigFile(dir.path().string(), true);
  ASSERT_FALSE(directory.has_value());
  EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos);

  const std::string big =
      writeFile(dir.path(), "big.toml", "# " + std::string(kMaxConfigFileBytes, 'x'));
  EXPECT_FALSE(loadConfigFile(big, true).has_value());
}

TEST(ResolveSettings, FlagsWinOverTheEnvironmentWhichWinsOverTheFile) {
  ConfigFile file{"/f.toml", "https://file:1", "zp_file.t", "/file/ca.crt"};
  SettingInputs env{"https://env:2", "zp_env.t", "/env/ca.crt"};
  SettingInputs flags{"https://flag:3", "zp_flag.t", "/flag/ca.crt"};

  Settings s = resolveSettings(flags, env, file);
  EXPECT_EQ(s, (Settings{"https://flag:3", "zp_flag.t", "/flag/ca.crt", "--server", "--token",
                         "--ca-cert"}));
  s = resolveSettings({}, env, file);
  EXPECT_EQ(s, (Settings{"https://env:2", "zp_env.t", "/env/ca.crt", "ZONEPLANE_SERVER",
                         "ZONEPLANE_TOKEN", "ZONEPLANE_CA_CERT"}));
  s = resolveSettings({}, {}, file);
  EXPECT_EQ(s, (Settings{"https://file:1", "zp_file.t", "/file/ca.crt", "/f.toml", "/f.toml",
                         "/f.toml"}));
  s = resolveSettings({}, {}, {});
  EXPECT_EQ(s.server, kDefaultServerUrl);
  EXPECT_EQ(s.token, "");
  EXPECT_EQ(s.ca_cert, "");
}

TEST(ResolveSettings, EachSettingOnItsOwnAndEmptyVariablesAreUnset) {
  ConfigFile file{"/f.toml", "https://file:1", "zp_file.t", std::nullopt};
  SettingInputs env{"", std::nullopt, "/env/ca.crt"};
  SettingInputs flags{std::nullopt, "", std::nullopt};
  Settings s = resolveSettings(flags, env, file);
  EXPECT_EQ(s.server, "https://file:1");  // ZONEPLANE_SERVER="" counts as unset
  EXPECT_EQ(s.token, "");                 // --token "" sends none
  EXPECT_EQ(s.token_source, "--token");
  EXPECT_EQ(s.ca_cert, "/env/ca.crt");
}

TEST(ValidateSettings, ATokenMustBeABearerTokenAndIsNeverQuoted) {
  Settings s = resolveSettings({}, {std::nullopt, "zp_0123456789ab.AbC-_x9=", std::nullopt}, {});
  EXPECT_TRUE(validateSettings(s).has_value());
  for (const char* bad : {"zp_a\r\nX-Evil: 1", "zp a", "zp_\x01", "==", "zp_é"}) {
    s = resolveSettings({}, {std::nullopt, bad, std::nullopt}, {});
    auto refused = validateSettings(s);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().field, "token");
    EXPECT_NE(refused.error().message.find("ZONEPLANE_TOKEN"), std::string::npos);
    EXPECT_EQ(refused.error().message.find(bad), std::string::npos);
  }
}

}  // namespace
}  // namespace zp::cli
