#pragma once
// Turning a failed HTTP reply into an Error, and an Error into the line the CLI
// prints. Pure functions.

#include <string>

#include "cli/http_client.h"
#include "common/status.h"

namespace zp::cli {

// Decodes the server's `{"error":{"code","message","field"?}}` body. When the
// body is not that shape (a proxy page, empty), the message says which HTTP
// status came back and quotes the start of the body, sanitised. The code comes
// from the body's "code", else from the HTTP status.
Error errorFromResponse(const HttpResponse& response);

// A 401 or 403 reply gets a second line "\nhint: ..." in its message saying
// what to do: where a token goes when `has_token` is false, that the token was
// refused (401) or that its role does not allow the request (403). Other
// statuses come back unchanged.
Error withAuthHint(Error error, int http_status, bool has_token);

// "error: <message>" plus " (field: <field>)" when the error names a field
// (after the message's first line, before a hint).
std::string formatError(const Error& error);

}  // namespace zp::cli
