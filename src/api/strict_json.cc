#include "api/strict_json.h"

#include <set>
#include <string_view>
#include <utility>
#include <string>
#include <vector>

namespace zp::api {
namespace {

using nlohmann::json;

// Builds the document from nlohmann's SAX events (only its public SAX
// interface), with the keys of each open object checked for repeats. A
// syntax error is kept as nlohmann's own message and stops the parse,
// without throwing: refusing hostile input is the common case on these
// paths, and an exception per refusal is costly. After the first repeated
// key the parse goes on (a later syntax error is what gets reported) but
// nothing more is stored: the document is refused either way. Opening a
// container deeper than kMaxJsonDepth stops the parse at once, so a body of
// a million '[' costs as little as one of a hundred.
class StrictBuilder {
 public:
  explicit StrictBuilder(json& result) : result_(result) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool value) { return put(json(value)); }
  bool number_integer(json::number_integer_t value) { return put(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return put(json(value)); }
  bool number_float(json::number_float_t value, const json::string_t& /*text*/) {
    return put(json(value));
  }
  bool string(json::string_t& value) { return put(json(std::move(value))); }
  bool binary(json::binary_t& value) { return put(json(std::move(value))); }
  bool start_object(std::size_t /*elements*/) { return open(json::object()); }
  bool key(json::string_t& value) {
    if (discarding()) return true;
    auto& top = open_.back();
    if (!top.keys.insert(value).second && duplicate_.empty()) duplicate_ = value;
    top.key = std::move(value);
    return true;
  }
  bool end_object() {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) { return open(json::array()); }
  bool end_array() {
    open_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const json::exception& error) {
    if (syntax_error_.empty()) syntax_error_ = error.what();
    return false;
  }

  // nlohmann's message for the first syntax error; empty when there was none.
  const std::string& syntaxError() const { return syntax_error_; }
  // The first key repeated within one object; empty when there was none.
  const std::string& duplicate() const { return duplicate_; }
  // Whether the parse stopped at a container nested deeper than kMaxJsonDepth.
  bool nestedTooDeep() const { return too_deep_; }

 private:
  // An object or array being filled. `value` points into the document: an
  // element is only ever added to the innermost open container, so the
  // outer ones (and these pointers) do not move meanwhile. nullptr once
  // discarding.
  struct Open {
    json* value;
    std::string key;  // objects: the key of the value that comes next
    std::set<std::string, std::less<>> keys;
  };

  bool discarding() const { return !duplicate_.empty(); }
  bool atDepthLimit() const { return open_.size() >= kMaxJsonDepth; }
  // Opens `container` (an empty object or array) where the next value goes;
  // false (the parse stops, too_deep_ set) when that nests too deep.
  bool open(json container) {
    if (atDepthLimit()) {
      too_deep_ = true;
      return false;
    }
    open_.push_back(Open{place(std::move(container)), {}, {}});
    return true;
  }

  // Stores `value` where the document expects the next one; returns where
  // (nullptr once discarding).
  json* place(json value) {
    if (discarding()) return nullptr;
    if (open_.empty()) {
      result_ = std::move(value);
      return &result_;
    }
    json& parent = *open_.back().value;
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    json& slot = parent[open_.back().key];
    slot = std::move(value);
    return &slot;
  }
  bool put(json value) {
    place(std::move(value));
    return true;
  }

  json& result_;
  std::vector<Open> open_;
  std::string duplicate_;
  std::string syntax_error_;
  bool too_deep_ = false;
};

}  // namespace

Result<json> parseStrictJson(std::string_view text) {
  json j;
  StrictBuilder builder(j);
  const bool parsed = json::sax_parse(text.begin(), text.end(), &builder);
  if (builder.nestedTooDeep()) {
    return fail(Code::kInvalidArgument,
                "malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
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
