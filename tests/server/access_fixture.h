#pragma once
// ServerFixture with a cluster CA in its data directory (so join tokens and
// POST /join work) and helpers to make tokens and act with them
// (docs/architecture.md §9.1, §9.3).

#include <string>

#include "server_fixture.h"
#include "tls/pki.h"

namespace zp::server::testing {

class AccessFixture : public ServerFixture {
 protected:
  void configure() override {
    pki_dir_ = dir_ + "/pki";
    auto ca = tls::CertificateAuthority::create(tls::KeyType::kEcP256, "zoneplane test CA");
    ASSERT_TRUE(ca) << ca.error().toString();
    ASSERT_TRUE(ca->save(pki_dir_));
    ca_fingerprint_ = std::string(ca->fingerprint());
    ca_pem_ = ca->certPem();
    options_.pki_dir = pki_dir_;
  }

  static std::string bearer(const std::string& token) {
    return token.empty() ? std::string() : "Bearer " + token;
  }
  // A request with `token` ("" sends no Authorization header).
  HttpResult as(const std::string& token, boost::beast::http::verb method,
                const std::string& target, const std::string& body = {}) {
    return server_->requestAs(bearer(token), method, target, body);
  }

  // POST /tokens as the admin; the new token's text ("" after a test failure).
  std::string newToken(const std::string& name, const std::string& role,
                       const std::string& expires_in = "") {
    nlohmann::json body{{"role", role}};
    if (!name.empty()) body["name"] = name;
    if (!expires_in.empty()) body["expires_in"] = expires_in;
    auto res = server_->post("/tokens", body.dump());
    EXPECT_EQ(res.status, 201u) << res.body;
    return res.json.value("token", "");
  }
  std::string joinToken(const std::string& expires_in = "") {
    return newToken("", "join", expires_in);
  }

  // GET /audit?<query> as the admin: its items.
  nlohmann::json audit(const std::string& query = "") {
    auto res = server_->get("/audit" + (query.empty() ? "" : "?" + query));
    EXPECT_EQ(res.status, 200u) << res.body;
    return res.json.value("items", nlohmann::json::array());
  }

  std::string pki_dir_;
  std::string ca_fingerprint_;
  std::string ca_pem_;
};

}  // namespace zp::server::testing
