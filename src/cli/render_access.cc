#include "cli/render_access.h"

#include <optional>
#include <vector>

#include "cli/render.h"
#include "cli/table.h"

namespace zp::cli {
namespace {

using nlohmann::json;

std::unexpected<Error> unexpected(const std::string& why) {
  return fail(Code::kInternal, "unexpected reply from the server: " + why);
}

// The entries of a list reply: {"items":[...]} or a bare array.
Result<const json*> items(const json& reply) {
  if (reply.is_array()) return &reply;
  if (reply.is_object()) {
    auto it = reply.find("items");
    if (it != reply.end() && it->is_array()) return &*it;
  }
  return unexpected("expected an \"items\" array");
}

// A string field; "" when absent or null, nullopt when of another type.
std::optional<std::string> text(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// "in 89d", "expired 2h ago", "never"; the text itself if it is not a time.
std::string expiry(const std::string& expires_at, TimePoint now) {
  if (expires_at.empty()) return "never";
  auto t = parseRfc3339(expires_at);
  if (!t) return expires_at;
  if (*t <= now) return "expired " + formatAge(now - *t) + " ago";
  return "in " + formatAge(*t - now);
}

std::string ago(const std::string& at, TimePoint now, std::string_view none) {
  if (at.empty()) return std::string(none);
  auto t = parseRfc3339(at);
  return t ? formatAge(now - *t) + " ago" : at;
}

}  // namespace

Result<std::string> renderTokenCreated(const json& reply) {
  if (!reply.is_object()) return unexpected("expected a JSON object");
  auto token = text(reply, "token");
  auto name = text(reply, "name");
  auto role = text(reply, "role");
  auto expires_at = text(reply, "expires_at");
  if (!token || token->empty() || !name || !role || !expires_at) {
    return unexpected("a created token needs a \"token\" string");
  }
  // The secret goes out as it came (sanitised all the same: it is printed to a terminal).
  std::string out = sanitize(*token) + "\n";
  const std::string expires =
      expires_at->empty() ? "never expires" : "expires " + sanitize(*expires_at);
  if (*role == "join") {
    out += "join token";
    if (!name->empty()) out += " \"" + sanitize(*name) + "\"";
    out += " (" + expires + "; good for one join): shown only this once\n";
  } else {
    out += "token \"" + sanitize(*name) + "\" (role " + sanitize(*role) + ", " + expires +
           "): shown only this once, keep it secret\n";
  }
  return out;
}

Result<std::string> renderTokens(const json& reply, TimePoint now) {
  auto list = items(reply);
  if (!list) return fail(list.error());
  if ((*list)->empty()) return std::string("No tokens found.\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : **list) {
    if (!item.is_object()) return unexpected("a token must be a JSON object");
    auto name = text(item, "name");
    auto id = text(item, "id");
    auto role = text(item, "role");
    auto created = text(item, "created_at");
    auto expires = text(item, "expires_at");
    auto used = text(item, "last_used_at");
    if (!name || !id || !role || !created || !expires || !used) {
      return unexpected(
          "token fields name, id, role, created_at, expires_at, last_used_at must be strings");
    }
    // A join token may have no name: it is "join:<id>", as in the audit log.
    const std::string shown = !name->empty() ? *name : !id->empty() ? "join:" + *id : "-";
    std::string last_use = ago(*used, now, "never");
    if (auto spent = item.find("used");
        used->empty() && spent != item.end() && spent->is_boolean() && spent->get<bool>()) {
      last_use = "used";
    }
    rows.push_back(
        {shown, orNone(*role), ago(*created, now, "-"), expiry(*expires, now), last_use});
  }
  return renderTable({"NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED"}, rows);
}

std::string renderTokenRevoked(const std::string& name) {
  return "token \"" + sanitize(name) + "\" revoked\n";
}

Result<std::string> renderAudit(const json& reply) {
  auto list = items(reply);
  if (!list) return fail(list.error());
  if ((*list)->empty()) return std::string("No audit entries found.\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : **list) {
    if (!item.is_object()) return unexpected("an audit entry must be a JSON object");
    auto number = [&](const char* key) -> std::optional<std::string> {
      auto it = item.find(key);
      if (it == item.end() || !it->is_number_integer()) return std::nullopt;
      return std::to_string(it->get<std::int64_t>());
    };
    auto seq = number("seq");
    auto result = number("result");
    auto time = text(item, "time");
    auto principal = text(item, "principal");
    auto action = text(item, "action");
    auto target = text(item, "target");
    auto source = text(item, "source");
    if (!seq || !result || !time || !principal || !action || !target || !source) {
      return unexpected(
          "an audit entry needs seq and result numbers and time, principal, action, target, "
          "source strings");
    }
    rows.push_back({*seq, orNone(*time), orNone(*principal), orNone(*action), orNone(*target),
                    *result, orNone(*source)});
  }
  return renderTable({"SEQ", "TIME", "PRINCIPAL", "ACTION", "TARGET", "RESULT", "SOURCE"}, rows);
}

}  // namespace zp::cli
