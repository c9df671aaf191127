// The assembled Server's join flow, server side (docs/architecture.md §9.1):
// a join token buys one node certificate for the identity node/<node_id>
// whatever the CSR asks for, once, before it expires; with an address the
// node is added as POST /nodes would.

#include "access_fixture.h"

namespace zp::server::testing {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using namespace std::chrono_literals;

// A CSR for a fresh key; `asks` is the identity the CSR claims (ignored by
// the server).
std::string csrFor(const tls::Identity& asks) {
  auto key = tls::PrivateKey::generate(tls::KeyType::kEcP256);
  EXPECT_TRUE(key) << key.error().toString();
  auto csr = tls::createCsr(*key, asks);
  EXPECT_TRUE(csr) << csr.error().toString();
  return csr ? *csr : std::string();
}

std::string joinBody(const std::string& node_id, const std::string& csr,
                     const std::string& address = "") {
  json body{{"node_id", node_id}, {"csr", csr}};
  if (!address.empty()) body["address"] = address;
  return body.dump();
}

TEST_F(AccessFixture, AJoinTokenBuysOneCertificateForTheNodeItNames) {
  const std::string token = joinToken();
  // The CSR claims to be the server: only the key is taken from it.
  auto joined =
      as(token, http::verb::post, "/join", joinBody("node-9", csrFor(tls::Identity::server())));
  ASSERT_EQ(joined.status, 200u) << joined.body;
  EXPECT_EQ(joined.json["ca"], ca_pem_);
  auto info = tls::inspectCertificate(joined.json["certificate"].get<std::string>());
  ASSERT_TRUE(info) << info.error().toString();
  ASSERT_TRUE(info->identity);
  EXPECT_EQ(*info->identity, tls::Identity::node("node-9"));
  EXPECT_FALSE(info->is_ca);
  EXPECT_NE(joined.json["certificate"].get<std::string>().find(ca_pem_), std::string::npos)
      << "the chain ends with the CA";
  EXPECT_FALSE(server_->node("node-9"));  // no address: not added

  // Once only, whatever the body.
  auto again = as(token, http::verb::post, "/join",
                  joinBody("node-9", csrFor(tls::Identity::node("node-9"))));
  EXPECT_EQ(again.status, 401u);
  auto listed = server_->get("/tokens").json["items"];
  ASSERT_EQ(listed.size(), 2u);  // the fixture's admin and the join token
  bool used = false;
  for (const auto& item : listed) used = used || item.value("used", false);
  EXPECT_TRUE(used);

  // Spent even when the request fails after authentication.
  const std::string wasted = joinToken();
  EXPECT_EQ(as(wasted, http::verb::post, "/join", R"({"node_id":"node-9"})").status, 400u);
  EXPECT_EQ(as(wasted, http::verb::post, "/join",
               joinBody("node-9", csrFor(tls::Identity::node("node-9"))))
                .status,
            401u);
  const std::string bad_csr = joinToken();
  auto refused = as(bad_csr, http::verb::post, "/join", joinBody("node-9", "not a csr"));
  EXPECT_EQ(refused.status, 422u);
  EXPECT_EQ(refused.json["error"]["field"], "csr");
  const std::string bad_id = joinToken();
  EXPECT_EQ(
      as(bad_id, http::verb::post, "/join", joinBody("Node_9", csrFor(tls::Identity::server())))
          .status,
      422u);

  // A join token is good for nothing else, an admin token cannot join.
  const std::string other = joinToken();
  EXPECT_EQ(as(other, http::verb::get, "/nodes").status, 403u);
  EXPECT_EQ(server_->post("/join", joinBody("node-9", csrFor(tls::Identity::server()))).status,
            403u);
  EXPECT_EQ(
      as(other, http::verb::post, "/join", joinBody("node-8", csrFor(tls::Identity::server())))
          .status,
      200u);  // the 403 above did not spend it
}

TEST_F(AccessFixture, AnExpiredJoinTokenIsRefused) {
  const std::string token = joinToken("10m");
  fake_clock_.advance(10min);
  auto res =
      as(token, http::verb::post, "/join", joinBody("node-9", csrFor(tls::Identity::server())));
  EXPECT_EQ(res.status, 401u);
  const std::string unlimited = joinToken();  // the default lifetime is one hour
  fake_clock_.advance(1h);
  EXPECT_EQ(
      as(unlimited, http::verb::post, "/join", joinBody("node-9", csrFor(tls::Identity::server())))
          .status,
      401u);
}

TEST_F(AccessFixture, AJoinWithAnAddressAddsTheNode) {
  auto agent3 = makeAgent("node-3", {"native"}, {2048, 2000});
  FakeAgent& node3 = *agent3;
  auto joined = as(joinToken(), http::verb::post, "/join",
                   joinBody("node-3", csrFor(tls::Identity::server()), node3.address()));
  ASSERT_EQ(joined.status, 200u) << joined.body;
  ASSERT_TRUE(waitNodeState("node-3", NodeState::kReady));
  auto entries = audit();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back()["action"], "POST /join");
  EXPECT_EQ(entries.back()["target"], "node-3");
  EXPECT_EQ(entries.back()["result"], 200);
}

// A join token buys a certificate for a new node only: a node id that is
// registered (from the config file, POST /nodes or an earlier join) is 409
// with or without an address, whichever address, and nothing is signed,
// until the node is removed.
TEST_F(AccessFixture, AJoinForARegisteredNodeIsRefusedUntilItIsRemoved) {
  auto agent3 = makeAgent("node-3", {"native"}, {2048, 2000});
  ASSERT_EQ(as(joinToken(), http::verb::post, "/join",
               joinBody("node-3", csrFor(tls::Identity::server()), agent3->address()))
                .status,
            200u);
  for (const auto& [node, address] : std::vector<std::pair<std::string, std::string>>{
           {"node-3", agent3->address()},  // joined before, same address
           {"node-3", ""},
           {"node-1", node1_->address()},  // from the configuration
           {"node-1", "127.0.0.1:1"},
       }) {
    auto conflict = as(joinToken(), http::verb::post, "/join",
                       joinBody(node, csrFor(tls::Identity::server()), address));
    EXPECT_EQ(conflict.status, 409u) << node << " " << address << ": " << conflict.body;
    EXPECT_FALSE(conflict.json.contains("certificate"));
    EXPECT_EQ(conflict.json["error"]["field"], "node_id");
    EXPECT_NE(conflict.body.find("DELETE /nodes/" + node), std::string::npos) << conflict.body;
  }
  EXPECT_EQ(server_->node("node-1")->address, node1_->address());

  auto entries = audit();
  ASSERT_FALSE(entries.empty());
  const json& last = entries.back();
  EXPECT_EQ(last["action"], "POST /join");
  EXPECT_EQ(last["target"], "node-1");
  EXPECT_EQ(last["result"], 409);
  EXPECT_TRUE(last["principal"].get<std::string>().starts_with("join:"));

  // Removed, it may join again.
  ASSERT_EQ(server_->del("/nodes/node-3").status, 200u);
  EXPECT_EQ(as(joinToken(), http::verb::post, "/join",
               joinBody("node-3", csrFor(tls::Identity::server()), agent3->address()))
                .status,
            200u);
}

TEST_F(ServerFixture, WithoutACertificateAuthorityJoiningIsRefused) {
  auto join = server_->post("/tokens", R"({"role":"join"})");
  EXPECT_EQ(join.status, 409u) << join.body;
  EXPECT_NE(join.json["error"]["message"].get<std::string>().find("ca init"), std::string::npos);
}

}  // namespace
}  // namespace zp::server::testing
