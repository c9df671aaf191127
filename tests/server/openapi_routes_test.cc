// The OpenAPI document (docs/api/openapi.json, served as GET /openapi.json)
// against the assembled Server's route table, both ways: every route the
// router has is an operation of the document with the route's permission,
// and every operation of the document is a route. What each route answers is
// checked against the document by tests/schemas/openapi_conformance_test.py.

#include <cctype>
#include <map>
#include <set>
#include <string>

#include "server/auth/roles.h"
#include "server/http/openapi_handler.h"
#include "server_fixture.h"

namespace zp::server::testing {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

const std::set<std::string> kMethods = {"get",     "put",  "post",  "delete",
                                        "options", "head", "patch", "trace"};

// "METHOD /pattern" -> the operation's x-zoneplane-permission.
std::map<std::string, std::string> documentedOperations(const json& document) {
  std::map<std::string, std::string> out;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (!kMethods.contains(method)) continue;
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out[upper + " " + path] = operation.value("x-zoneplane-permission", "");
    }
  }
  return out;
}

TEST(OpenApiDocument, IsEmbeddedAndParses) {
  const std::string_view text = openApiDocument();
  ASSERT_FALSE(text.empty());
  const json document = json::parse(text, nullptr, false);
  ASSERT_FALSE(document.is_discarded()) << "docs/api/openapi.json is not JSON";
  EXPECT_EQ(document.value("openapi", ""), "3.1.0");
  EXPECT_TRUE(document.contains("paths"));
}

TEST_F(ServerFixture, EveryRouteIsDocumentedAndEveryDocumentedRouteExists) {
  const json document = json::parse(openApiDocument(), nullptr, false);
  ASSERT_TRUE(document.is_object());
  std::map<std::string, std::string> documented = documentedOperations(document);
  ASSERT_FALSE(documented.empty());

  const auto routes = server_->onServer([](Server& s) { return s.router().routes(); });
  std::set<std::string> routed;
  for (const auto& route : routes) {
    const std::string name = std::string(http::to_string(route.method)) + " " + route.pattern;
    routed.insert(name);
    auto it = documented.find(name);
    if (it == documented.end()) {
      ADD_FAILURE() << name << " is a route of the server but not in docs/api/openapi.json";
      continue;
    }
    EXPECT_EQ(it->second, auth::permissionName(route.permission))
        << name << ": x-zoneplane-permission differs from the route's permission";
  }
  for (const auto& [name, permission] : documented) {
    EXPECT_TRUE(routed.contains(name))
        << name << " is in docs/api/openapi.json but not a route of the server";
  }
}

TEST_F(ServerFixture, ServesTheDocumentWithoutAToken) {
  auto res = server_->requestAs("", http::verb::get, "/openapi.json");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.header("content-type"), "application/json");
  EXPECT_EQ(res.body, openApiDocument());
  EXPECT_EQ(server_->requestAs("", http::verb::get, "/openapi.json?x=1").status, 400u);
}

}  // namespace
}  // namespace zp::server::testing
