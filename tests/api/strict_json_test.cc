#include "api/strict_json.h"

#include <gtest/gtest.h>

namespace zp::api {
namespace {

TEST(StrictJsonTest, ParsesOrdinaryDocuments) {
  auto j = parseStrictJson(R"({"a": 1, "b": {"a": 2, "c": [{"a": 3}, {"a": 4}]}})");
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["b"]["c"][1]["a"], 4);
  EXPECT_TRUE(parseStrictJson("[1, 2]"));
  EXPECT_TRUE(parseStrictJson("{}"));
}

TEST(StrictJsonTest, RejectsDuplicateKeysAtAnyDepth) {
  for (const char* text : {R"({"a": 1, "a": 2})", R"({"x": {"b": 1, "b": 1}})",
                           R"([{"k": 1}, {"k": 2, "k": 3}])", R"({"image": "a", "image": "b"})"}) {
    auto j = parseStrictJson(text);
    ASSERT_FALSE(j) << text;
    EXPECT_EQ(j.error().code, Code::kInvalidArgument);
    EXPECT_NE(j.error().message.find("duplicate key"), std::string::npos) << text;
  }
  auto j = parseStrictJson(R"({"id": "a", "id": "b"})");
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().field, "id");
}

TEST(StrictJsonTest, ReportsSyntaxErrors) {
  for (const char* text : {"", "{", "not json", R"({"a": })", "{\"a\": 1} trailing"}) {
    auto j = parseStrictJson(text);
    ASSERT_FALSE(j) << text;
    EXPECT_NE(j.error().message.find("malformed JSON"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace zp::api
