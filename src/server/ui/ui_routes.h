#pragma once
// The web dashboard (docs/architecture.md §7.1), served by the server itself:
//
//   GET /ui, GET /ui/       index.html
//   GET /ui/{file}          one embedded file ("app.js", "style.css", ...):
//                           content type by extension; 404 JSON error for a
//                           name that is not embedded
//
// All are kPublic: the files hold no data. The page signs in with an API token
// and uses the REST API like any client. Every answer carries
// `Cache-Control: no-cache` and the security headers of uiSecurityHeaders():
// a Content-Security-Policy that allows only the server's own origin (no
// inline script or style, no other host), nosniff, and no framing. Query
// parameters are ignored (a cache-busting "?v=" is harmless).

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http/http_message.h"
#include "server/http/router.h"
#include "server/ui/ui_assets.h"

namespace zp::server::ui {

// The Content-Security-Policy every dashboard answer carries.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// The content type for a file name, by its extension ("application/octet-stream"
// for an unknown one).
std::string_view contentTypeFor(std::string_view name);

// The answer to GET /ui/{name} from `assets`: the file, or 404.
HttpResponse serveAsset(std::span<const Asset> assets, std::string_view name);

// Adds the routes above to `router`, serving `assets` (embeddedAssets() by
// default; they must outlive the router).
void addRoutes(Router& router, std::span<const Asset> assets = embeddedAssets());

}  // namespace zp::server::ui
