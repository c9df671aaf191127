#include "protocol/messages.h"

#include <nlohmann/json.hpp>

#include "api/json.h"
#include "api/json_fields.h"
#include "api/strict_json.h"
#include "api/validate.h"
#include "protocol/messages_exec.h"

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

Result<std::string> decodeUid(const json& j) {
  auto uid = fields::optString(j, "uid", "");
  if (!uid) return fail(uid.error());
  if (!*uid) return std::string{};
  if (!isValidUid(**uid)) {
    return fail(Code::kInvalidArgument,
                "uid must be 1 to " + std::to_string(kMaxUidLength) +
                    " characters of [a-z0-9-]",
                "uid");
  }
  return **uid;
}

Result<std::optional<bool>> decodeBool(const json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end()) return std::optional<bool>{};
  if (!it->is_boolean()) {
    return fail(Code::kInvalidArgument,
                "field \"" + std::string(key) + "\" must be true or false", std::string(key));
  }
  return std::optional<bool>{it->get<bool>()};
}

// An optional integer in [min, max].
Result<std::optional<std::int64_t>> decodeBounded(const json& j, std::string_view key,
                                                  std::int64_t min, std::int64_t max) {
  auto value = fields::optInt(j, key, "");
  if (!value) return fail(value.error());
  if (*value && (**value < min || **value > max)) {
    return fail(Code::kInvalidArgument,
                std::string(key) + " must be between " + std::to_string(min) + " and " +
                    std::to_string(max),
                std::string(key));
  }
  return *value;
}

// Logs.from: {"attempt", "offset", "skip"}, each a whole number >= 0.
Result<std::optional<LogPosition>> decodeLogPosition(const json& j) {
  auto it = j.find("from");
  if (it == j.end()) return std::optional<LogPosition>{};
  if (auto s = fields::requireObject(*it, "from", {"attempt", "offset", "skip"}, "from."); !s) {
    return fail(s.error());
  }
  LogPosition at;
  for (auto [key, out] : {std::pair{"attempt", &at.attempt}, std::pair{"offset", &at.offset},
                          std::pair{"skip", &at.skip}}) {
    auto value = decodeBounded(*it, key, 0, kMaxLogPosition);
    if (!value) {
      Error e = value.error();
      e.field = "from." + e.field;
      return fail(std::move(e));
    }
    *out = value->value_or(0);
  }
  return std::optional<LogPosition>{at};
}

Result<RequestBody> decodeBody(const std::string& type, const json& j) {
  const auto only = [&](std::initializer_list<std::string_view> known) {
    return fields::requireObject(j, type + " request", known, "");
  };
  if (type == "Hello") {
    if (auto s = only({"type", "req", "node_id", "subscribe"}); !s) return fail(s.error());
    auto node = fields::reqString(j, "node_id", "");
    if (!node) return fail(node.error());
    if (!api::isDns1123Label(*node)) {
      return fail(Code::kInvalidArgument, "node_id is not a valid node id (DNS-1123 label)",
                  "node_id");
    }
    auto subscribe = decodeBool(j, "subscribe");
    if (!subscribe) return fail(subscribe.error());
    return Hello{*node, subscribe->value_or(false)};
  }
  if (type == "Logs") {
    if (auto s = only({"type", "req", "id", "tail", "follow", "timestamps", "stream", "uid",
                       "marks", "from"});
        !s) {
      return fail(s.error());
    }
    auto id = decodeId(j);
    if (!id) return fail(id.error());
    auto tail = decodeBounded(j, "tail", 0, kMaxLogTail);
    if (!tail) return fail(tail.error());
    auto follow = decodeBool(j, "follow");
    if (!follow) return fail(follow.error());
    auto timestamps = decodeBool(j, "timestamps");
    if (!timestamps) return fail(timestamps.error());
    auto stream = fields::optString(j, "stream", "");
    if (!stream) return fail(stream.error());
    if (*stream && !isLogStream(**stream)) {
      return fail(Code::kInvalidArgument,
                  "stream must be \"stdout\" or \"stderr\", not \"" + (*stream)->substr(0, 80) +
                      "\"",
                  "stream");
    }
    auto uid = decodeUid(j);
    if (!uid) return fail(uid.error());
    auto marks = decodeBool(j, "marks");
    if (!marks) return fail(marks.error());
    auto from = decodeLogPosition(j);
    if (!from) return fail(from.error());
    if (*from && *tail) {
      return fail(Code::kInvalidArgument, "from and tail cannot be given together", "from");
    }
    return Logs{*id,
                *tail,
                follow->value_or(false),
                timestamps->value_or(false),
                std::move(*stream),
                std::move(*uid),
                marks->value_or(false),
                *from};
  }
  if (type == "StartWorkload") {
    if (auto s = only({"type", "req", "workload", "uid"}); !s) return fail(s.error());
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
    auto uid = decodeUid(j);
    if (!uid) return fail(uid.error());
    return StartWorkload{std::move(*spec), std::move(*uid)};
  }
  if (type == "GetStatus") {
    if (auto s = only({"type", "req", "id"}); !s) return fail(s.error());
    auto id = decodeId(j);
    if (!id) return fail(id.error());
    return GetStatus{*id};
  }
  if (type == "StopWorkload" || type == "RemoveWorkload") {
    const bool remove = type == "RemoveWorkload";
    if (auto s = remove ? only({"type", "req", "id", "uid", "timeout_seconds"})
                        : only({"type", "req", "id", "timeout_seconds"});
        !s) {
      return fail(s.error());
    }
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
    if (!remove) return StopWorkload{*id, grace};
    auto uid = decodeUid(j);
    if (!uid) return fail(uid.error());
    return RemoveWorkload{*id, grace, std::move(*uid)};
  }
  if (type == "ListWorkloads") {
    if (auto s = only({"type", "req", "limit", "continue"}); !s) return fail(s.error());
    auto limit = decodeBounded(j, "limit", 1, kMaxListLimit);
    if (!limit) return fail(limit.error());
    auto after = fields::optString(j, "continue", "");
    if (!after) return fail(after.error());
    if (*after && !(*after)->empty() && !api::isDns1123Label(**after)) {
      return fail(Code::kInvalidArgument, "continue must be a workload id", "continue");
    }
    return ListWorkloads{limit->value_or(kDefaultListLimit), after->value_or("")};
  }
  if (type == "NodeInfo") {
    if (auto s = only({"type", "req", "isolation_revision"}); !s) return fail(s.error());
    auto revision = fields::optInt(j, "isolation_revision", "");
    if (!revision) return fail(revision.error());
    return NodeInfo{*revision};
  }
  if (type == "ProbeIsolation") {
    if (auto s = only({"type", "req", "runtime_class"}); !s) return fail(s.error());
    auto cls = fields::optString(j, "runtime_class", "");
    if (!cls) return fail(cls.error());
    if (*cls && !api::isDns1123Label(**cls)) {
      return fail(Code::kInvalidArgument, "runtime_class is not a valid class name (DNS-1123 label)",
                  "runtime_class");
    }
    return ProbeIsolation{cls->value_or("")};
  }
  if (type == "ExecSync") {
    auto exec = detail::decodeExecSync(j);
    if (!exec) return fail(exec.error());
    return std::move(*exec);
  }
  return fail(Code::kInvalidArgument,
              "unknown message type \"" + type.substr(0, 80) +
                  "\" (expected Hello, StartWorkload, GetStatus, StopWorkload, RemoveWorkload, "
                  "ListWorkloads, NodeInfo, Logs, ProbeIsolation or ExecSync)",
              "type");
}

}  // namespace

bool isValidUid(std::string_view uid) {
  if (uid.empty() || uid.size() > kMaxUidLength) return false;
  for (char c : uid) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool isLogStream(std::string_view stream) { return stream == "stdout" || stream == "stderr"; }

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
                        [](const Hello&) { return std::string_view{"Hello"}; },
                        [](const StartWorkload&) { return std::string_view{"StartWorkload"}; },
                        [](const GetStatus&) { return std::string_view{"GetStatus"}; },
                        [](const StopWorkload&) { return std::string_view{"StopWorkload"}; },
                        [](const RemoveWorkload&) { return std::string_view{"RemoveWorkload"}; },
                        [](const ListWorkloads&) { return std::string_view{"ListWorkloads"}; },
                        [](const NodeInfo&) { return std::string_view{"NodeInfo"}; },
                        [](const Logs&) { return std::string_view{"Logs"}; },
                        [](const ProbeIsolation&) { return std::string_view{"ProbeIsolation"}; },
                        [](const ExecSync&) { return std::string_view{"ExecSync"}; },
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
                        [](const WorkloadEvent&) { return std::string_view{"WorkloadEvent"}; },
                        [](const LogLine&) { return std::string_view{"LogLine"}; },
                        [](const LogEnd&) { return std::string_view{"LogEnd"}; },
                        [](const LogMark&) { return std::string_view{"LogMark"}; },
                        [](const ExecResult&) { return std::string_view{"ExecResult"}; },
                    },
                    body);
}

std::string encodeRequest(const Request& request) {
  json j = std::visit(
      Overloaded{
          [](const Hello& m) {
            json out{{"node_id", m.node_id}};
            if (m.subscribe) out["subscribe"] = true;
            return out;
          },
          [](const StartWorkload& m) {
            json out{{"workload", api::toJson(m.workload)}};
            if (!m.uid.empty()) out["uid"] = m.uid;
            return out;
          },
          [](const GetStatus& m) { return json{{"id", m.id}}; },
          [](const StopWorkload& m) {
            return json{{"id", m.id}, {"timeout_seconds", m.timeout_seconds}};
          },
          [](const RemoveWorkload& m) {
            json out{{"id", m.id}, {"timeout_seconds", m.timeout_seconds}};
            if (!m.uid.empty()) out["uid"] = m.uid;
            return out;
          },
          [](const ListWorkloads& m) {
            json out{{"limit", m.limit}};
            if (!m.after.empty()) out["continue"] = m.after;
            return out;
          },
          [](const NodeInfo& m) {
            json out = json::object();
            if (m.isolation_revision) out["isolation_revision"] = *m.isolation_revision;
            return out;
          },
          [](const ProbeIsolation& m) {
            json out = json::object();
            if (!m.runtime_class.empty()) out["runtime_class"] = m.runtime_class;
            return out;
          },
          [](const ExecSync& m) { return detail::execSyncJson(m); },
          [](const Logs& m) {
            json out{{"id", m.id}, {"follow", m.follow}, {"timestamps", m.timestamps}};
            if (m.tail) out["tail"] = *m.tail;
            if (m.stream) out["stream"] = *m.stream;
            if (!m.uid.empty()) out["uid"] = m.uid;
            if (m.marks) out["marks"] = true;
            if (m.from) {
              out["from"] = {
                  {"attempt", m.from->attempt}, {"offset", m.from->offset}, {"skip", m.from->skip}};
            }
            return out;
          },
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
                            json out{{"items", std::move(items)}};
                            if (!l.next.empty()) out["continue"] = l.next;
                            return out;
                          },
                          [](const api::NodeInfo& n) { return api::toJson(n); },
                          [](const Removed& r) {
                            return json{{"id", r.id}};
                          },
                          [](const ErrorReply& e) {
                            json out{{"code", codeName(e.error.code)},
                                     {"message", e.error.message}};
                            if (!e.error.field.empty()) out["field"] = e.error.field;
                            if (!e.id.empty()) out["id"] = e.id;
                            return out;
                          },
                          [](const WorkloadEvent& e) {
                            return json{{"workload", api::toJson(e.workload)}};
                          },
                          [](const LogLine& l) {
                            json out{{"time", l.time}, {"stream", l.stream}, {"line", l.line}};
                            if (l.partial) out["partial"] = true;
                            return out;
                          },
                          [](const LogEnd& e) {
                            return json{{"reason", e.reason}};
                          },
                          [](const LogMark& m) {
                            return json{{"attempt", m.attempt}, {"offset", m.offset}};
                          },
                          [](const ExecResult& r) { return detail::execResultJson(r); },
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
    if (auto next = j.find("continue"); next != j.end() && next->is_string()) {
      list.next = next->get<std::string>();
    }
    reply.body = std::move(list);
  } else if (*type == "WorkloadEvent") {
    auto it = j.find("workload");
    if (it == j.end()) return fail(Code::kInternal, "bad WorkloadEvent: no \"workload\"");
    auto s = api::workloadStatusFromJson(*it);
    if (!s) return fail(Code::kInternal, "bad WorkloadEvent: " + s.error().message);
    reply.body = WorkloadEvent{std::move(*s)};
  } else if (*type == "LogLine") {
    LogLine l;
    auto time = fields::optString(j, "time", "");
    auto stream = fields::optString(j, "stream", "");
    auto line = fields::reqString(j, "line", "");
    if (!time || !stream || !line) return fail(Code::kInternal, "bad LogLine");
    l.time = time->value_or("");
    l.stream = stream->value_or("");
    l.line = std::move(*line);
    if (auto p = j.find("partial"); p != j.end() && p->is_boolean()) l.partial = p->get<bool>();
    reply.body = std::move(l);
  } else if (*type == "LogMark") {
    auto attempt = fields::optInt(j, "attempt", "");
    auto offset = fields::optInt(j, "offset", "");
    if (!attempt || !offset || !*attempt || !*offset || **attempt < 0 || **offset < 0) {
      return fail(Code::kInternal, "bad LogMark");
    }
    reply.body = LogMark{**attempt, **offset};
  } else if (*type == "LogEnd") {
    auto reason = fields::optString(j, "reason", "");
    reply.body = LogEnd{reason && *reason ? **reason : std::string{}};
  } else if (*type == "Node") {
    auto n = api::nodeInfoFromJson(j);
    if (!n) return fail(Code::kInternal, "bad Node reply: " + n.error().message);
    reply.body = std::move(*n);
  } else if (*type == "Removed") {
    auto id = fields::reqString(j, "id", "");
    if (!id) return fail(Code::kInternal, "bad Removed reply: " + id.error().message);
    reply.body = Removed{*id};
  } else if (*type == "ExecResult") {
    auto r = detail::decodeExecResult(j);
    if (!r) return fail(r.error());
    reply.body = std::move(*r);
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
