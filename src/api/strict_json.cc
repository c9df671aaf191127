#include "api/strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace zp::api {
namespace {

using nlohmann::json;

// nlohmann's SAX events, passed on to its DOM builder (which never throws:
// allow_exceptions is off), with the keys of each open object checked for
// repeats. A syntax error is kept as nlohmann's own message and stops the
// parse, without throwing: refusing hostile input is the common case on
// these paths, and an exception per refusal is costly.
class StrictBuilder {
 public:
  explicit StrictBuilder(json& result) : dom_(result, /*allow_exceptions=*/false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool value) { return dom_.boolean(value); }
  bool number_integer(json::number_integer_t value) { return dom_.number_integer(value); }
  bool number_unsigned(json::number_unsigned_t value) { return dom_.number_unsigned(value); }
  bool number_float(json::number_float_t value, const json::string_t& text) {
    return dom_.number_float(value, text);
  }
  bool string(json::string_t& value) { return dom_.string(value); }
  bool binary(json::binary_t& value) { return dom_.binary(value); }
  bool start_object(std::size_t elements) {
    open_objects_.emplace_back();
    return dom_.start_object(elements);
  }
  bool key(json::string_t& value) {
    if (!open_objects_.empty() && duplicate_.empty() && !open_objects_.back().insert(value).second) {
      duplicate_ = value;
    }
    return dom_.key(value);
  }
  bool end_object() {
    if (!open_objects_.empty()) open_objects_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t elements) { return dom_.start_array(elements); }
  bool end_array() { return dom_.end_array(); }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& last_token, const Exception& error) {
    if (syntax_error_.empty()) syntax_error_ = error.what();
    return dom_.parse_error(position, last_token, error);
  }

  // nlohmann's message for the first syntax error; empty when there was none.
  const std::string& syntaxError() const { return syntax_error_; }
  // The first key repeated within one object; empty when there was none.
  const std::string& duplicate() const { return duplicate_; }

 private:
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  // One set of seen keys per open object, innermost last.
  std::vector<std::set<std::string, std::less<>>> open_objects_;
  std::string duplicate_;
  std::string syntax_error_;
};

}  // namespace

Result<json> parseStrictJson(std::string_view text) {
  json j;
  StrictBuilder builder(j);
  const bool parsed = json::sax_parse(text.begin(), text.end(), &builder);
  if (!parsed || !builder.syntaxError().empty()) {
    return fail(Code::kInvalidArgument, "malformed JSON: " + builder.syntaxError());
  }
  if (!builder.duplicate().empty()) {
    return fail(Code::kInvalidArgument,
                "duplicate key \"" + builder.duplicate().substr(0, 80) + "\" in a JSON object",
                builder.duplicate().substr(0, 80));
  }
  return j;
}

}  // namespace zp::api
