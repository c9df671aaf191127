// Admission over HTTP: trust levels choosing runtime classes, minimum
// profiles, the image policy, strict input (0 resources, duplicate keys), and
// GET /trust-levels. The fixture's default trust is "internal"; node-1 offers
// [native], node-2 [edera-zone, native].

#include "server_fixture.h"

namespace zp::server::testing {
namespace {

using nlohmann::json;

std::string body(json j) {
  if (!j.contains("image")) j["image"] = "busybox:1.36";
  return j.dump();
}

TEST_F(ServerFixture, WithoutAClassTheFirstAllowedClassOnOfferIsPickedAndStored) {
  // internal: [edera-zone, gvisor, kata, *] -> edera-zone, on node-2.
  auto res = create(body({{"id", "auto-1"}}));
  EXPECT_EQ(res.json["spec"]["runtime_class"], "edera-zone");
  EXPECT_EQ(res.json["spec"]["trust"], "internal");
  EXPECT_EQ(res.json["status"]["node"], "node-2");
  const auto record = stored("auto-1");
  EXPECT_EQ(record.spec.runtime_class, "edera-zone");
  EXPECT_EQ(record.spec.trust, api::TrustLevel::kInternal);
  // What the agent received names the class.
  ASSERT_TRUE(node2_->workload("auto-1"));
  EXPECT_EQ(server_->get("/workloads?runtime_class=edera-zone").json["items"].size(), 1u);
}

TEST_F(ServerFixture, WithoutAClassANextPreferredClassIsUsedWhenTheFirstHasNoRoom) {
  // node-2 (the only edera-zone node) has 1024 MB: 2000 MB goes to native.
  auto res = create(body({{"id", "big-1"}, {"memory_mb", 2000}}));
  EXPECT_EQ(res.json["spec"]["runtime_class"], "native");
  EXPECT_EQ(res.json["status"]["node"], "node-1");
  // No class has room: 503 naming each class's reason.
  auto none = server_->post("/workloads", body({{"id", "huge-1"}, {"memory_mb", 8000}}));
  EXPECT_EQ(none.status, 503u);
  EXPECT_EQ(none.json["error"]["reason"], "Unschedulable");
  const std::string message = none.json["error"]["message"];
  EXPECT_NE(message.find("\"edera-zone\""), std::string::npos) << message;
  EXPECT_NE(message.find("\"native\""), std::string::npos) << message;
}

TEST_F(ServerFixture, UntrustedGetsAnOwnKernelClassAndNeverNative) {
  auto res = create(body({{"id", "u-1"}, {"trust", "untrusted"}}));
  EXPECT_EQ(res.json["spec"]["runtime_class"], "edera-zone");
  EXPECT_EQ(res.json["spec"]["trust"], "untrusted");

  auto native = server_->post(
      "/workloads", body({{"id", "u-2"}, {"trust", "untrusted"}, {"runtime_class", "native"}}));
  EXPECT_EQ(native.status, 422u);
  EXPECT_EQ(native.json["error"]["field"], "runtime_class");
  EXPECT_EQ(native.json["error"]["message"],
            "runtime_class \"native\" is not allowed for trust level \"untrusted\" (allowed: "
            "edera-zone, gvisor, kata)");
  EXPECT_FALSE(store_->get("u-2"));
  EXPECT_EQ(node1_->count("StartWorkload") + node2_->count("StartWorkload"), 1);
}

TEST_F(ServerFixture, AProfileBelowTheLevelsMinimumIs422) {
  auto res = server_->post(
      "/workloads",
      body({{"id", "p-1"}, {"trust", "untrusted"}, {"security", {{"profile", "baseline"}}}}));
  EXPECT_EQ(res.status, 422u);
  EXPECT_EQ(res.json["error"]["field"], "security.profile");
  res = server_->post(
      "/workloads",
      body({{"id", "p-3"}, {"trust", "multi_tenant"}, {"security", {{"profile", "baseline"}}}}));
  EXPECT_EQ(res.status, 422u);
  EXPECT_EQ(res.json["error"]["field"], "security.profile");
  // internal allows baseline.
  create(body({{"id", "p-2"}, {"trust", "internal"}, {"security", {{"profile", "baseline"}}}}));
  EXPECT_EQ(stored("p-2").spec.security.profile, api::Profile::kBaseline);
}

TEST_F(ServerFixture, ImagesFromLocalRegistriesAreRefusedByDefault) {
  auto res =
      server_->post("/workloads", body({{"id", "img-1"}, {"image", "127.0.0.1:9000/a/b:1"}}));
  EXPECT_EQ(res.status, 422u);
  EXPECT_EQ(res.json["error"]["field"], "image");
  const std::string message = res.json["error"]["message"];
  EXPECT_NE(message.find("\"127.0.0.1:9000\""), std::string::npos) << message;
  EXPECT_FALSE(store_->get("img-1"));
  EXPECT_EQ(node1_->count("StartWorkload") + node2_->count("StartWorkload"), 0);
  EXPECT_EQ(server_->post("/workloads", body({{"image", "localhost:5000/x:1"}})).status, 422u);
}

TEST_F(ServerFixture, ExplicitZeroResourcesAre422AndAbsentOnesDefault) {
  for (const char* key : {"memory_mb", "cpu_millicores"}) {
    auto res = server_->post("/workloads", body({{"id", "zero-1"}, {key, 0}}));
    EXPECT_EQ(res.status, 422u) << key;
    EXPECT_EQ(res.json["error"]["field"], key);
  }
  auto res = create(body({{"id", "zero-2"}}));
  EXPECT_EQ(res.json["spec"]["memory_mb"], api::kDefaultMemoryMb);
  EXPECT_EQ(res.json["spec"]["cpu_millicores"], api::kDefaultCpuMillicores);
}

TEST_F(ServerFixture, DuplicateKeysAre400NamingTheKey) {
  auto res = server_->post(
      "/workloads",
      R"({"id":"dup-1","image":"busybox:1.36","runtime_class":"native","runtime_class":"gvisor"})");
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(res.json["error"]["field"], "runtime_class");
  auto nested = server_->post(
      "/workloads",
      R"({"image":"busybox:1.36","security":{"profile":"restricted","profile":"baseline"}})");
  EXPECT_EQ(nested.status, 400u);
  EXPECT_FALSE(store_->get("dup-1"));
}

TEST_F(ServerFixture, TrustLevelsListThePolicyAndWhatIsAvailable) {
  auto res = server_->get("/trust-levels");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.json["default_trust"], "internal");
  ASSERT_EQ(res.json["items"].size(), 3u);
  const json untrusted = res.json["items"][0];
  EXPECT_EQ(untrusted, json::parse(R"({"name":"untrusted","default":false,
      "runtime_classes":["edera-zone","gvisor","kata"],"min_profile":"restricted",
      "available":["edera-zone"]})"));
  EXPECT_EQ(res.json["items"][1]["name"], "multi_tenant");
  EXPECT_EQ(res.json["items"][1]["min_profile"], "restricted");
  const json internal = res.json["items"][2];
  EXPECT_EQ(internal["name"], "internal");
  EXPECT_EQ(internal["default"], true);
  EXPECT_EQ(internal["runtime_classes"], json::parse(R"(["edera-zone","gvisor","kata","*"])"));
  EXPECT_EQ(internal["available"], json::parse(R"(["edera-zone","native"])"));
  EXPECT_EQ(server_->get("/trust-levels?verbose=1").status, 400u);
}

// A server whose only node offers "native", with the secure defaults.
class NativeOnlyServer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened);
    store_ = std::move(*opened);
    node_ = std::make_unique<FakeAgent>("node-1", std::vector<std::string>{"native"},
                                        api::Resources{4096, 4000});
    auto options = testOptions({{"node-1", node_->address(), {}}});
    options.trust = TrustPolicyConfig::defaults();  // default_trust untrusted
    server_ = std::make_unique<TestServer>(std::move(options), *store_);
  }
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<FakeAgent> node_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(NativeOnlyServer, UntrustedByDefaultWithNoOwnKernelClassIs422SayingSo) {
  auto res = server_->post("/workloads", body({{"id", "u-1"}}));
  EXPECT_EQ(res.status, 422u);
  EXPECT_EQ(res.json["error"]["field"], "trust");
  EXPECT_EQ(res.json["error"]["message"],
            "no node offers a runtime class allowed for trust level \"untrusted\" (allowed: "
            "edera-zone, gvisor, kata; classes on offer: native)");
  EXPECT_EQ(node_->count("StartWorkload"), 0);
  // Saying "internal" explicitly gets native.
  auto internal = server_->post("/workloads", body({{"id", "i-1"}, {"trust", "internal"}}));
  EXPECT_EQ(internal.status, 201u) << internal.body;
  EXPECT_EQ(internal.json["spec"]["runtime_class"], "native");
  auto trust = server_->get("/trust-levels");
  EXPECT_EQ(trust.json["default_trust"], "untrusted");
  EXPECT_EQ(trust.json["items"][0]["available"], json::array());
}

TEST(ImagePolicyServer, AllowedRegistriesReplaceTheDefault) {
  auto store = store::SqliteStore::open(":memory:");
  ASSERT_TRUE(store);
  FakeAgent node("node-1", {"native"}, {4096, 4000});
  auto options = testOptions({{"node-1", node.address(), {}}});
  auto images = ImagePolicy::create({"127.0.0.1:5000"});
  ASSERT_TRUE(images);
  options.images = *images;
  TestServer server(std::move(options), **store);
  EXPECT_EQ(
      server.post("/workloads", body({{"image", "127.0.0.1:5000/zoneplane/busybox:1.0"}})).status,
      201u);
  auto hub = server.post("/workloads", body({{"image", "busybox:1.36"}}));
  EXPECT_EQ(hub.status, 422u);
  EXPECT_EQ(hub.json["error"]["message"],
            "image registry \"docker.io\" is not allowed by the server's image policy "
            "(allowed_registries: 127.0.0.1:5000)");
}

}  // namespace
}  // namespace zp::server::testing
