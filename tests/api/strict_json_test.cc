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

// The message is nlohmann's own description of the first syntax error, as
// its throwing parser reports it; a syntax error wins over a duplicate key.
TEST(StrictJsonTest, SyntaxErrorsKeepTheParsersMessage) {
  for (const char* text : {"", "{", "[1,]", R"({"a": 1, "a": 2)", "{\"a\": 1} trailing", "\"\x01\""}) {
    std::string expected;
    try {
      [[maybe_unused]] auto parsed = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      expected = e.what();
    }
    ASSERT_FALSE(expected.empty()) << text;
    auto j = parseStrictJson(text);
    ASSERT_FALSE(j) << text;
    EXPECT_EQ(j.error().message, "malformed JSON: " + expected) << text;
    EXPECT_EQ(j.error().field, "") << text;
  }
}

TEST(StrictJsonTest, KeepsNumbersAndNestingAsParsed) {
  const char* text = R"({"n": -3, "u": 18446744073709551615, "f": 1.5e3, "s": "x\u00e9",
                         "a": [null, true, false, [], {}], "o": {"k": {"k": 1}}})";
  auto j = parseStrictJson(text);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(*j, nlohmann::json::parse(text));
  EXPECT_TRUE((*j)["n"].is_number_integer());
  EXPECT_TRUE((*j)["u"].is_number_unsigned());
  EXPECT_TRUE((*j)["f"].is_number_float());
}


// After the first repeated key nothing more is stored, but the parse goes on
// through nested objects and arrays: still refused for the duplicate, or for
// a syntax error further on.
TEST(StrictJsonTest, ARepeatedKeyFollowedByNestingIsStillRefused) {
  auto j = parseStrictJson(R"({"a": 1, "a": {"b": [1, {"c": {"d": []}}], "b": 2}, "e": [[{}]]})");
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().field, "a");
  auto late = parseStrictJson(R"({"a": 1, "a": {"b": [1, {"c": 2}]}, "e": [})");
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().message.find("malformed JSON"), std::string::npos);
}

// What is accepted is exactly the document nlohmann's own parser builds.
TEST(StrictJsonTest, BuildsWhatNlohmannBuilds) {
  std::string deep(kMaxJsonDepth, '[');
  deep += std::string(kMaxJsonDepth, ']');
  for (const std::string& text : {std::string("7"), std::string("\"s\""), std::string("null"),
                                 std::string("[[1, [2, [3]]], {\"a\": [{}, []]}]"),
                                 std::string(R"({"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]})"),
                                 deep}) {
    auto j = parseStrictJson(text);
    ASSERT_TRUE(j) << text << ": " << j.error().message;
    EXPECT_EQ(*j, nlohmann::json::parse(text)) << text;
  }
}

// One level past the limit is refused, for arrays and objects alike, and a
// megabyte of '[' is refused at the first one too many.
TEST(StrictJsonTest, NestingPastTheLimitIsRefused) {
  std::string arrays(kMaxJsonDepth + 1, '[');
  arrays += std::string(kMaxJsonDepth + 1, ']');
  std::string objects;
  for (std::size_t i = 0; i <= kMaxJsonDepth; ++i) objects += "{\"a\":";
  objects += "1" + std::string(kMaxJsonDepth + 1, '}');
  ASSERT_TRUE(nlohmann::json::accept(objects));
  for (const std::string& text : {arrays, objects, std::string(1 << 20, '[')}) {
    auto j = parseStrictJson(text);
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().code, Code::kInvalidArgument);
    EXPECT_EQ(j.error().message, "malformed JSON: nested deeper than 64 levels");
  }
}

}  // namespace
}  // namespace zp::api
