// The dashboard's routes (src/server/ui/ui_routes.h): the embedded files, their
// content types and security headers, 404 for anything else, and that the
// page stays within its Content-Security-Policy (no inline script or style,
// nothing from another host).
#include "server/ui/ui_routes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "open_access.h"

namespace zp::server::ui {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

HttpResponse get(const Router& router, std::string target, http::verb method = http::verb::get) {
  asio::io_context io;
  auto future = asio::co_spawn(io, router.dispatch(method, target, ""), asio::use_future);
  io.run();
  return future.get();
}

std::string header(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "(absent)";
}

std::string sourceFile(const std::string& name) {
  std::ifstream in(std::string(ZP_SOURCE_DIR) + "/src/server/ui/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class UiRoutesTest : public ::testing::Test {
 protected:
  UiRoutesTest() {
    router_.setAccessControl(&testing::openAccess());
    addRoutes(router_);
  }
  Router router_;
};

void expectSecurityHeaders(const HttpResponse& response) {
  EXPECT_EQ(header(response, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(response, "Content-Security-Policy"), kContentSecurityPolicy);
  EXPECT_EQ(header(response, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(response, "X-Frame-Options"), "DENY");
}

TEST_F(UiRoutesTest, ServesTheIndexAtUiAndUiSlash) {
  for (const char* target : {"/ui", "/ui/", "/ui?v=2", "/ui/index.html"}) {
    SCOPED_TRACE(target);
    const auto response = get(router_, target);
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(response.body, sourceFile("index.html"));
    expectSecurityHeaders(response);
  }
}

TEST_F(UiRoutesTest, ServesEachFileWithItsContentType) {
  const std::array<std::pair<const char*, const char*>, 4> files{{
      {"app.js", "text/javascript; charset=utf-8"},
      {"dom.js", "text/javascript; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
      {"icon.svg", "image/svg+xml"},
  }};
  for (const auto& [name, type] : files) {
    SCOPED_TRACE(name);
    const auto response = get(router_, std::string("/ui/") + name);
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.content_type, type);
    // Embedded byte for byte.
    EXPECT_EQ(response.body, sourceFile(name));
    expectSecurityHeaders(response);
  }
  // HEAD runs the same handler (the HTTP layer leaves the body out).
  EXPECT_EQ(get(router_, "/ui/app.js", http::verb::head).status, 200u);
}

TEST_F(UiRoutesTest, AnythingElseIsA404JsonError) {
  for (const char* target :
       {"/ui/nope.js", "/ui/..%2Fserver.cc", "/ui/%2Fetc%2Fpasswd", "/ui/APP.JS"}) {
    SCOPED_TRACE(target);
    const auto response = get(router_, target);
    EXPECT_EQ(response.status, 404u);
    EXPECT_EQ(response.content_type, "application/json");
    const auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body["error"]["code"], "NotFound");
    expectSecurityHeaders(response);
  }
  // A second segment is no file of the dashboard (the router's own 404).
  EXPECT_EQ(get(router_, "/ui/a/b").status, 404u);
  // Read-only: other methods are 405.
  EXPECT_EQ(get(router_, "/ui/app.js", http::verb::post).status, 405u);
  // The name in the message is bounded.
  const auto long_name = get(router_, "/ui/" + std::string(5000, 'a'));
  EXPECT_EQ(long_name.status, 404u);
  EXPECT_LT(long_name.body.size(), 400u);
}

TEST_F(UiRoutesTest, EveryRouteIsPublic) {
  const auto routes = router_.routes();
  ASSERT_EQ(routes.size(), 3u);
  for (const auto& route : routes) {
    EXPECT_EQ(route.method, http::verb::get) << route.pattern;
    EXPECT_EQ(route.permission, auth::Permission::kPublic) << route.pattern;
  }
}

TEST(UiContentTypeTest, ByExtension) {
  EXPECT_EQ(contentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(contentTypeFor("a.png"), "image/png");
  EXPECT_EQ(contentTypeFor("data.bin"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor(".js"), "application/octet-stream");  // no name before it
  EXPECT_EQ(contentTypeFor("js"), "application/octet-stream");
}

TEST(UiAssetsTest, ServesTheAssetsItIsGiven) {
  const std::array<Asset, 2> assets{{{"index.html", "<p>hi</p>"}, {"x.txt", "text"}}};
  Router router;
  router.setAccessControl(&testing::openAccess());
  addRoutes(router, assets);
  EXPECT_EQ(get(router, "/ui").body, "<p>hi</p>");
  const auto text = get(router, "/ui/x.txt");
  EXPECT_EQ(text.body, "text");
  EXPECT_EQ(text.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(get(router, "/ui/app.js").status, 404u);
}

// The page must work under its own CSP: scripts and styles only from files,
// every reference to one of the embedded files, nothing from another origin.
TEST(UiAssetsTest, TheIndexStaysWithinItsContentSecurityPolicy) {
  const auto assets = embeddedAssets();
  const auto index = std::find_if(assets.begin(), assets.end(),
                                  [](const Asset& a) { return a.name == "index.html"; });
  ASSERT_NE(index, assets.end());
  const std::string html(index->content);

  // <script> only with src; no inline style or event handler attributes.
  const std::regex script("<script([^>]*)>", std::regex::icase);
  int scripts = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), script), end; it != end; ++it) {
    ++scripts;
    EXPECT_NE((*it)[1].str().find("src=\"/ui/"), std::string::npos) << it->str();
  }
  EXPECT_EQ(scripts, 1);
  EXPECT_FALSE(std::regex_search(html, std::regex("<style", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\sstyle=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("(src|href)=\"(https?:)?//", std::regex::icase)));

  // The token field has no name, so no form submission can carry it.
  std::smatch token_input;
  ASSERT_TRUE(std::regex_search(html, token_input, std::regex("<input id=\"token\"[^>]*>")));
  EXPECT_EQ(token_input.str().find("name="), std::string::npos) << token_input.str();

  // Every /ui/ file it names is embedded.
  const std::regex ref("(src|href)=\"/ui/([^\"]+)\"");
  int refs = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), ref), end; it != end; ++it) {
    ++refs;
    const std::string name = (*it)[2].str();
    EXPECT_TRUE(
        std::any_of(assets.begin(), assets.end(), [&](const Asset& a) { return a.name == name; }))
        << name << " is referenced but not embedded";
  }
  EXPECT_GE(refs, 3);

  // The scripts (ES modules) speak only to their own origin, put no data in
  // as HTML, keep the token in the tab, and import only embedded files.
  const std::regex import_from("from '\\./([^']+)'");
  int scripts_seen = 0;
  for (const auto& asset : assets) {
    if (!asset.name.ends_with(".js")) continue;
    ++scripts_seen;
    SCOPED_TRACE(std::string(asset.name));
    const std::string js(asset.content);
    EXPECT_FALSE(std::regex_search(js, std::regex("https?://")));
    EXPECT_EQ(js.find("innerHTML"), std::string::npos);
    EXPECT_EQ(js.find("outerHTML"), std::string::npos);
    EXPECT_EQ(js.find("insertAdjacentHTML"), std::string::npos);
    EXPECT_EQ(js.find("eval("), std::string::npos);
    EXPECT_EQ(js.find("localStorage"), std::string::npos);
    for (std::sregex_iterator it(js.begin(), js.end(), import_from), end; it != end; ++it) {
      const std::string name = (*it)[1].str();
      EXPECT_TRUE(
          std::any_of(assets.begin(), assets.end(), [&](const Asset& a) { return a.name == name; }))
          << name << " is imported but not embedded";
    }
  }
  EXPECT_GE(scripts_seen, 2);
}

}  // namespace
}  // namespace zp::server::ui
