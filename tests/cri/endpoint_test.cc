#include "cri/endpoint.h"

#include <gtest/gtest.h>

#include <string>

#include "cri/client.h"

namespace zp::cri {
namespace {

TEST(SocketPathFromEndpoint, AcceptsAbsoluteUnixPaths) {
  auto path = socketPathFromEndpoint("unix:///var/lib/zoneplane-stack/containerd.sock");
  ASSERT_TRUE(path.has_value()) << path.error().toString();
  EXPECT_EQ(*path, "/var/lib/zoneplane-stack/containerd.sock");
  EXPECT_EQ(*socketPathFromEndpoint("unix:///x"), "/x");
}

TEST(SocketPathFromEndpoint, RejectsEverythingElse) {
  for (const char* bad :
       {"", "unix://", "unix:/run/x.sock", "unix:run/x.sock", "unix://relative/x.sock",
        "/run/containerd/containerd.sock", "tcp://127.0.0.1:1234", "http://localhost/x",
        "UNIX:///run/x.sock", "dns:///localhost:50051", "unix:///run/dir/"}) {
    auto path = socketPathFromEndpoint(bad);
    ASSERT_FALSE(path.has_value()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(path.error().code, Code::kInvalidArgument) << bad;
    EXPECT_EQ(path.error().field, "endpoint") << bad;
  }
}

TEST(SocketPathFromEndpoint, RejectsNulBytes) {
  std::string endpoint = "unix:///run/x";
  endpoint.push_back('\0');
  endpoint += ".sock";
  EXPECT_FALSE(socketPathFromEndpoint(endpoint).has_value());
}

TEST(SocketPathFromEndpoint, RejectsPathsTooLongForSunPath) {
  std::string ok_path = "/" + std::string(kMaxSocketPathLength - 1, 'a');
  EXPECT_TRUE(socketPathFromEndpoint("unix://" + ok_path).has_value());
  auto too_long = socketPathFromEndpoint("unix://" + ok_path + "a");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, Code::kInvalidArgument);
}

TEST(ClientCreate, ValidatesTheEndpoint) {
  auto client = Client::create("tcp://127.0.0.1:10010");
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, Code::kInvalidArgument);
  EXPECT_NE(client.error().message.find("tcp://127.0.0.1:10010"), std::string::npos);
}

TEST(ClientCreate, RejectsNonPositiveTimeouts) {
  auto client =
      Client::create("unix:///run/x.sock", {.default_timeout = std::chrono::milliseconds(0)});
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, Code::kInvalidArgument);
}

TEST(ClientCreate, DoesNotConnect) {
  // Creation is lazy: a missing socket is only noticed by the first call.
  auto client = Client::create("unix:///nonexistent/zoneplane/cri.sock");
  ASSERT_TRUE(client.has_value()) << client.error().toString();
  EXPECT_EQ((*client)->endpoint(), "unix:///nonexistent/zoneplane/cri.sock");
  EXPECT_EQ((*client)->options().default_timeout, std::chrono::seconds(10));
}

}  // namespace
}  // namespace zp::cri
