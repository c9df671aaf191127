#include "protocol/messages.h"

#include <nlohmann/json.hpp>

#include "api/json.h"
#include "api/json_fields.h"
#include "api/strict_json.h"
#include "api/validate.h"

namespace zp::protocol {

using nlohmann::json;
namespace fields = api::fields;

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};

Result<std::string> decodeId(const json& j) {
  auto id = fields::reqString(j, "id", "");
  if (!id) return fail(id.error());
  if (!api::isDns1123Label(*id)) {
    return fail(Code::kInvalidArgument,
                "id \"" + id->substr(0, 80) + "\" is not a valid workload id (DNS-1123 label)",
                "id");
  }
  return *id;
}

Result<RequestBody> decodeBody(const std::string& type, const json& j) {
  const auto only = [&](std::initializer_list<std::string_view> known) {
    return fields::requireObject(j, type + " request", known, "");
  };
  if (type == "StartWorkload") {
    if (auto s = only({"type", "req", "workload"}); !s) return fail(s.error());
    auto it = j.find("workload");
    if (it == j.end()) {
      return fail(Code::kInvalidArgument, "missing required field \"workload\"", "workload");
    }
    auto spec = api::workloadSpecFromJson(*it, "workload.");
    if (!spec) return fail(spec.error());
    if (auto s = api::validateWorkloadSpec(*spec); !s) {
      Error e = s.error();
      e.field = "workload." + e.field;
      return fail(std::move(e));
    }
    return StartWorkload{std::move(*spec)};
  }
  if (type == "GetStatus") {
    if (auto s = only({"type", "req", "id"}); !s) return fail(s.error());
    auto id = decodeId(j);
    if (!id) return fail(id.error());
    return GetStatus{*id};
  }
  if (type == "StopWorkload" || type == "RemoveWorkload") {
    if (auto s = only({"type", "req", "id", "timeout_seconds"}); !s) return fail(s.error());
    auto id = decodeId(j);
    if (!id) return fail(id.error());
    auto timeout = fields::optInt(j, "timeout_seconds", "");
    if (!timeout) return fail(timeout.error());
    std::int64_t grace = kDefaultStopTimeoutSeconds;
    if (*timeout) {
      if (**timeout < 0 || **timeout > kMaxStopTimeoutSeconds) {
        return fail(Code::kInvalidArgument,
                    "timeout_seconds must be between 0 and " +
                        std::to_string(kMaxStopTimeoutSeconds),
                    "timeout_seconds");
      }
      grace = **timeout;
    }
    if (type == "StopWorkload") return StopWorkload{*id, grace};
    return RemoveWorkload{*id, grace};
  }
  if (type == "ListWorkloads" || type == "NodeInfo") {
    if (auto s = only({"type", "req"}); !s) return fail(s.error());
    if (type == "ListWorkloads") return ListWorkloads{};
    return NodeInfo{};
  }
  return fail(Code::kInvalidArgument,
              "unknown message type \"" + type.substr(0, 80) +
                  "\" (expected StartWorkload, GetStatus, StopWorkload, RemoveWorkload, "
                  "ListWorkloads or NodeInfo)",
              "type");
}

}  // namespace

std::expected<Request, RequestError> decodeRequest(std::string_view line) {
  if (line.size() > kMaxLineBytes) {
    return std::unexpected(RequestError{
        Error{Code::kResourceExhausted,
              "line longer than " + std::to_string(kMaxLineBytes) + " bytes", ""},
        std::nullopt, ""});
  }
  auto parsed = api::parseStrictJson(line);
  if (!parsed) return std::unexpected(RequestError{std::move(parsed.error()), std::nullopt, ""});
  json j = std::move(*parsed);
  RequestError err{Error{}, std::nullopt, ""};
  if (!j.is_object()) {
    err.error = Error{Code::kInvalidArgument,
                      std::string("a message must be a JSON object, got ") + j.type_name(), ""};
    return std::unexpected(std::move(err));
  }
  // Correlation first, so even a bad request gets an answer it can match.
  if (auto it = j.find("req"); it != j.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxReqLength) {
      err.error = Error{Code::kInvalidArgument,
                        "\"req\" must be a string of at most " + std::to_string(kMaxReqLength) +
                            " characters",
                        "req"};
      return std::unexpected(std::move(err));
    }
    err.req = it->get<std::string>();
  }
  if (auto it = j.find("id"); it != j.end() && it->is_string() && it->get_ref<const std::string&>().size() <= 63) {
    err.id = it->get<std::string>();
  }
  auto type = fields::reqString(j, "type", "");
  if (!type) {
    err.error = type.error();
    return std::unexpected(std::move(err));
  }
  auto body = decodeBody(*type, j);
  if (!body) {
    err.error = body.error();
    return std::unexpected(std::move(err));
  }
  return Request{err.req, std::move(*body)};
}

std::string_view typeName(const RequestBody& body) {
  return std::visit(Overloaded{
                        [](const StartWorkload&) { return std::string_view{"StartWorkload"}; },
                        [](const GetStatus&) { return std::string_view{"GetStatus"}; },
                        [](const StopWorkload&) { return std::string_view{"StopWorkload"}; },
                        [](const RemoveWorkload&) { return std::string_view{"RemoveWorkload"}; },
                        [](const ListWorkloads&) { return std::string_view{"ListWorkloads"}; },
                        [](const NodeInfo&) { return std::string_view{"NodeInfo"}; },
                    },
                    body);
}

std::string_view typeName(const ReplyBody& body) {
  return std::visit(Overloaded{
                        [](const api::WorkloadStatus&) { return std::string_view{"Status"}; },
                        [](const WorkloadList&) { return std::string_view{"WorkloadList"}; },
                        [](const api::NodeInfo&) { return std::string_view{"Node"}; },
                        [](const Removed&) { return std::string_view{"Removed"}; },
                        [](const ErrorReply&) { return std::string_view{"Error"}; },
                    },
                    body);
}

std::string encodeRequest(const Request& request) {
  json j = std::visit(
      Overloaded{
          [](const StartWorkload& m) { return json{{"workload", api::toJson(m.workload)}}; },
          [](const GetStatus& m) { return json{{"id", m.id}}; },
          [](const StopWorkload& m) {
            return json{{"id", m.id}, {"timeout_seconds", m.timeout_seconds}};
          },
          [](const RemoveWorkload& m) {
            return json{{"id", m.id}, {"timeout_seconds", m.timeout_seconds}};
          },
          [](const ListWorkloads&) { return json::object(); },
          [](const NodeInfo&) { return json::object(); },
      },
      request.body);
  j["type"] = typeName(request.body);
  if (request.req) j["req"] = *request.req;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encodeReply(const Reply& reply) {
  json j = std::visit(Overloaded{
                          [](const api::WorkloadStatus& s) { return api::toJson(s); },
                          [](const WorkloadList& l) {
                            json items = json::array();
                            for (const auto& s : l.items) items.push_back(api::toJson(s));
                            return json{{"items", std::move(items)}};
                          },
                          [](const api::NodeInfo& n) { return api::toJson(n); },
                          [](const Removed& r) { return json{{"id", r.id}}; },
                          [](const ErrorReply& e) {
                            json out{{"code", codeName(e.error.code)},
                                     {"message", e.error.message}};
                            if (!e.error.field.empty()) out["field"] = e.error.field;
                            if (!e.id.empty()) out["id"] = e.id;
                            return out;
                          },
                      },
                      reply.body);
  j["type"] = typeName(reply.body);
  if (reply.req) j["req"] = *reply.req;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Reply> decodeReply(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Code::kInternal, "agent sent a reply that is not a JSON object");
  }
  Reply reply;
  if (auto it = j.find("req"); it != j.end() && it->is_string()) reply.req = it->get<std::string>();
  auto type = fields::reqString(j, "type", "");
  if (!type) return fail(Code::kInternal, "agent reply without \"type\"");
  if (*type == "Status") {
    auto s = api::workloadStatusFromJson(j);
    if (!s) return fail(Code::kInternal, "bad Status reply: " + s.error().message);
    reply.body = std::move(*s);
  } else if (*type == "WorkloadList") {
    WorkloadList list;
    auto it = j.find("items");
    if (it == j.end() || !it->is_array()) {
      return fail(Code::kInternal, "bad WorkloadList reply: \"items\" must be a list");
    }
    for (const auto& item : *it) {
      auto s = api::workloadStatusFromJson(item);
      if (!s) return fail(Code::kInternal, "bad WorkloadList item: " + s.error().message);
      list.items.push_back(std::move(*s));
    }
    reply.body = std::move(list);
  } else if (*type == "Node") {
    auto n = api::nodeInfoFromJson(j);
    if (!n) return fail(Code::kInternal, "bad Node reply: " + n.error().message);
    reply.body = std::move(*n);
  } else if (*type == "Removed") {
    auto id = fields::reqString(j, "id", "");
    if (!id) return fail(Code::kInternal, "bad Removed reply: " + id.error().message);
    reply.body = Removed{*id};
  } else if (*type == "Error") {
    ErrorReply e;
    auto code = fields::optString(j, "code", "");
    auto message = fields::optString(j, "message", "");
    auto field = fields::optString(j, "field", "");
    auto id = fields::optString(j, "id", "");
    e.error.code = codeFromName(code && *code ? **code : "Internal");
    e.error.message = message && *message ? **message : "agent error without a message";
    e.error.field = field && *field ? **field : "";
    e.id = id && *id ? **id : "";
    reply.body = std::move(e);
  } else {
    return fail(Code::kInternal, "agent sent an unknown reply type \"" + type->substr(0, 80) + "\"");
  }
  return reply;
}

}  // namespace zp::protocol
