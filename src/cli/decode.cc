#include "cli/decode.h"

#include <string_view>
#include <utility>

#include "api/json.h"

namespace zp::cli {
namespace {

using nlohmann::json;

std::unexpected<Error> unexpected(std::string_view why) {
  return fail(Code::kInternal, "unexpected reply from the server: " + std::string(why));
}

std::unexpected<Error> unexpected(const Error& error) {
  std::string why = error.message;
  if (!error.field.empty()) why += " (field: " + error.field + ")";
  return unexpected(why);
}

Result<const json*> items(const json& j) {
  if (!j.is_object()) return unexpected("expected a JSON object");
  auto it = j.find("items");
  if (it == j.end() || !it->is_array()) return unexpected("expected an \"items\" array");
  return &*it;
}

}  // namespace

Result<WorkloadView> decodeWorkload(const json& j) {
  if (!j.is_object()) return unexpected("a workload must be a JSON object");
  auto spec_it = j.find("spec");
  auto status_it = j.find("status");
  if (spec_it == j.end() || !spec_it->is_object()) {
    return unexpected("a workload needs a \"spec\" object");
  }
  if (status_it == j.end() || !status_it->is_object()) {
    return unexpected("a workload needs a \"status\" object");
  }
  auto spec = api::workloadSpecFromJson(*spec_it, "spec.", api::UnknownFields::kIgnore);
  if (!spec) return unexpected(spec.error());
  auto status = api::workloadStatusFromJson(*status_it);
  if (!status) return unexpected(status.error());
  return WorkloadView{std::move(*spec), std::move(*status)};
}

Result<std::vector<WorkloadView>> decodeWorkloadList(const json& j) {
  auto list = items(j);
  if (!list) return fail(list.error());
  std::vector<WorkloadView> out;
  out.reserve((*list)->size());
  for (const json& item : **list) {
    auto view = decodeWorkload(item);
    if (!view) return fail(view.error());
    out.push_back(std::move(*view));
  }
  return out;
}

Result<std::vector<NodeView>> decodeNodeList(const json& j) {
  auto list = items(j);
  if (!list) return fail(list.error());
  std::vector<NodeView> out;
  out.reserve((*list)->size());
  for (const json& item : **list) {
    auto info = api::nodeInfoFromJson(item);
    if (!info) return unexpected(info.error());
    NodeView view{std::move(*info), {}, std::nullopt, {}};
    if (auto it = item.find("address"); it != item.end() && it->is_string()) {
      view.address = it->get<std::string>();
    }
    if (auto it = item.find("reachable"); it != item.end() && it->is_boolean()) {
      view.reachable = it->get<bool>();
    }
    if (auto it = item.find("error"); it != item.end()) {
      if (it->is_string()) {
        view.error = it->get<std::string>();
      } else if (auto m = it->find("message");
                 it->is_object() && m != it->end() && m->is_string()) {
        view.error = m->get<std::string>();  // tolerate {"code","message"} objects too
      }
    }
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace zp::cli
