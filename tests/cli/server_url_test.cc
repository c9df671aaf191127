#include "cli/server_url.h"

#include <gtest/gtest.h>

namespace zp::cli {
namespace {

TEST(ParseServerUrl, AcceptsHostPortAndPrefix) {
  auto url = parseServerUrl("http://127.0.0.1:7700");
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(*url, (ServerUrl{"127.0.0.1", 7700, ""}));

  url = parseServerUrl("http://Control.Example.com:8080/api/v1/");
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(*url, (ServerUrl{"control.example.com", 8080, "/api/v1"}));
  EXPECT_EQ(url->toString(), "http://control.example.com:8080/api/v1");
  EXPECT_EQ(url->hostHeader(), "control.example.com:8080");
}

TEST(ParseServerUrl, DefaultsPortTo80AndDropsATrailingSlash) {
  auto url = parseServerUrl("HTTP://localhost/");
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(*url, (ServerUrl{"localhost", 80, ""}));
}

TEST(ParseServerUrl, AcceptsBracketedIpv6) {
  auto url = parseServerUrl("http://[::1]:7700");
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 7700);
  EXPECT_EQ(url->hostHeader(), "[::1]:7700");
}

TEST(ParseServerUrl, HttpsDefaultsPortTo443) {
  auto url = parseServerUrl("https://127.0.0.1:7700");
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(*url, (ServerUrl{"127.0.0.1", 7700, "", true}));
  EXPECT_EQ(url->toString(), "https://127.0.0.1:7700");

  url = parseServerUrl("HTTPS://control.example.com/api");
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(*url, (ServerUrl{"control.example.com", 443, "/api", true}));
  EXPECT_EQ(url->toString(), "https://control.example.com:443/api");
}

TEST(ParseServerUrl, TheDefaultIsHttpsOnLoopback) {
  auto url = parseServerUrl(kDefaultServerUrl);
  ASSERT_TRUE(url.has_value()) << url.error().toString();
  EXPECT_EQ(*url, (ServerUrl{"127.0.0.1", 7700, "", true}));
}

TEST(ParseServerUrl, RejectsMalformedUrls) {
  for (const char* bad : {"",
                          "127.0.0.1:7700",
                          "localhost",
                          "ftp://host",
                          "https//host",
                          "httpss://host",
                          "https://",
                          "https://user@host",
                          "tcp://host:1",
                          "http://",
                          "http://:7700",
                          "http://host:",
                          "http://host:0",
                          "http://host:65536",
                          "http://host:99999999",
                          "http://host:77a",
                          "http://host:-1",
                          "http://user@host",
                          "http://user:pw@host:1",
                          "http://host/?x=1",
                          "http://host#frag",
                          "http://ho st",
                          "http://host/a b",
                          "http://host/a//b",
                          "http://host/../x",
                          "http://host/a/./b",
                          "http://host/%zz",
                          "http://-host",
                          "http://host..com",
                          "http://host_name",
                          "http://[::1",
                          "http://[zz]",
                          "http://[::1]x",
                          "http://h\xc3\xa9st",
                          "http://host\n"}) {
    auto url = parseServerUrl(bad);
    ASSERT_FALSE(url.has_value()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(url.error().code, Code::kInvalidArgument) << bad;
    EXPECT_EQ(url.error().field, "server") << bad;
  }
}

}  // namespace
}  // namespace zp::cli
