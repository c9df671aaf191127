#include "api/strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace zp::api {

using nlohmann::json;

Result<json> parseStrictJson(std::string_view text) {
  // One set of seen keys per open object; the parser calls back in document order.
  std::vector<std::set<std::string, std::less<>>> open_objects;
  std::string duplicate;
  const json::parser_callback_t check = [&](int /*depth*/, json::parse_event_t event,
                                            json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && duplicate.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {
    return fail(Code::kInvalidArgument, std::string("malformed JSON: ") + e.what());
  }
  if (!duplicate.empty()) {
    return fail(Code::kInvalidArgument,
                "duplicate key \"" + duplicate.substr(0, 80) + "\" in a JSON object",
                duplicate.substr(0, 80));
  }
  return j;
}

}  // namespace zp::api
