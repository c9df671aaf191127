#include "cli/error_body.h"

#include <gtest/gtest.h>

#include "test_workloads.h"

namespace zp::cli {
namespace {

using testing::errorBody;

TEST(ErrorFromResponse, UsesTheServersErrorObject) {
  Error e = errorFromResponse(
      {422, "Unprocessable Entity",
       errorBody("InvalidArgument", "unknown runtime class \"x\"", "runtime_class")});
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_EQ(e.message, "unknown runtime class \"x\"");
  EXPECT_EQ(e.field, "runtime_class");
  EXPECT_EQ(formatError(e), "error: unknown runtime class \"x\" (field: runtime_class)");

  e = errorFromResponse({404, "Not Found", errorBody("NotFound", "no workload \"wl-9\"")});
  EXPECT_EQ(e.code, Code::kNotFound);
  EXPECT_EQ(formatError(e), "error: no workload \"wl-9\"");
}

TEST(ErrorFromResponse, FallsBackToTheHttpStatus) {
  Error e = errorFromResponse({502, "Bad Gateway", "<html>proxy\nerror</html>"});
  EXPECT_EQ(e.code, Code::kInternal);
  EXPECT_EQ(e.message, "server replied HTTP 502 Bad Gateway: <html>proxy error</html>");

  e = errorFromResponse({503, "Service Unavailable", ""});
  EXPECT_EQ(e.code, Code::kUnavailable);
  EXPECT_EQ(e.message, "server replied HTTP 503 Service Unavailable");

  e = errorFromResponse({507, "Insufficient Storage", ""});
  EXPECT_EQ(e.code, Code::kStorageFull);

  e = errorFromResponse({404, "Not Found", R"({"error":{"code":"NotFound"}})"});
  EXPECT_EQ(e.code, Code::kNotFound);
  EXPECT_TRUE(e.message.starts_with("server replied HTTP 404 Not Found")) << e.message;

  e = errorFromResponse({500, "", std::string(1000, 'x')});
  EXPECT_EQ(e.message.size(), std::string("server replied HTTP 500: ").size() + 200 + 3);
}

TEST(ErrorFromResponse, SanitisesServerText) {
  Error e = errorFromResponse({400, "Bad Request", errorBody("InvalidArgument", "bad\x1b[31m\nx")});
  EXPECT_EQ(e.message, "bad?[31m x");
}

}  // namespace
}  // namespace zp::cli
