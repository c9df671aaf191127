// decodeReport (probe/report_json.h): the report comes out of a workload's
// container, so it is untrusted. Every field must be present with its type
// (null only where the report has an optional); strings are at most
// kMaxTextBytes, lists at most their bound; keys the format does not know are
// ignored. Errors name the field by its path ("process.cap_effective").

#include <limits>
#include <map>
#include <optional>

#include "api/strict_json.h"
#include "probe/report_json.h"

namespace zp::probe {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();

std::string join(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  return std::string(prefix) + "." + std::string(key);
}

std::string indexed(std::string_view prefix, std::size_t i) {
  return std::string(prefix) + "[" + std::to_string(i) + "]";
}

// Reads the members of one JSON object whose path is `prefix`. The first
// failure is kept in the shared `error` slot; once it is set every read
// returns an empty value, so a decoder reads straight on and checks once.
class Reader {
 public:
  Reader(const json& object, std::string prefix, std::optional<Error>& error)
      : object_(&object), prefix_(std::move(prefix)), error_(&error) {}

  std::string text(std::string_view key, std::size_t max = kMaxTextBytes) {
    const json* m = member(key);
    return m != nullptr ? textOf(*m, join(prefix_, key), max) : std::string{};
  }
  std::optional<std::string> optText(std::string_view key) {
    const json* m = member(key);
    if (m == nullptr || m->is_null()) return std::nullopt;
    return textOf(*m, join(prefix_, key), kMaxTextBytes);
  }
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max = kMaxInt64) {
    const json* m = member(key);
    return m != nullptr ? integerOf(*m, join(prefix_, key), min, max) : 0;
  }
  std::optional<std::int64_t> optInteger(std::string_view key, std::int64_t min, std::int64_t max) {
    const json* m = member(key);
    if (m == nullptr || m->is_null()) return std::nullopt;
    return integerOf(*m, join(prefix_, key), min, max);
  }
  std::optional<std::uint64_t> optMask(std::string_view key) {
    const json* m = member(key);
    if (m == nullptr || m->is_null()) return std::nullopt;
    if (!m->is_number_unsigned()) {
      failed(join(prefix_, key), "must be a non-negative integer or null");
      return std::nullopt;
    }
    return m->get<std::uint64_t>();
  }
  bool boolean(std::string_view key) {
    const json* m = member(key);
    if (m == nullptr) return false;
    if (!m->is_boolean()) return failed(join(prefix_, key), "must be true or false"), false;
    return m->get<bool>();
  }
  std::optional<bool> optBoolean(std::string_view key) {
    const json* m = member(key);
    if (m == nullptr || m->is_null()) return std::nullopt;
    if (!m->is_boolean()) return failed(join(prefix_, key), "must be true, false or null"), false;
    return m->get<bool>();
  }
  std::vector<std::string> textList(std::string_view key, std::size_t max) {
    std::vector<std::string> out;
    const json* l = list(key, max);
    for (std::size_t i = 0; l != nullptr && i < l->size() && ok(); ++i) {
      out.push_back(textOf((*l)[i], indexed(join(prefix_, key), i), kMaxTextBytes));
    }
    return out;
  }
  std::vector<std::int64_t> integerList(std::string_view key, std::size_t max, std::int64_t min,
                                        std::int64_t max_value) {
    std::vector<std::int64_t> out;
    const json* l = list(key, max);
    for (std::size_t i = 0; l != nullptr && i < l->size() && ok(); ++i) {
      out.push_back(integerOf((*l)[i], indexed(join(prefix_, key), i), min, max_value));
    }
    return out;
  }
  // Calls `item(reader)` for each element of an array of objects.
  template <typename F>
  void objects(std::string_view key, std::size_t max, F&& item) {
    const json* l = list(key, max);
    for (std::size_t i = 0; l != nullptr && i < l->size() && ok(); ++i) {
      std::string path = indexed(join(prefix_, key), i);
      if (!(*l)[i].is_object()) return failed(path, "must be an object");
      Reader r((*l)[i], path, *error_);
      item(r);
    }
  }
  // A member that must be an object; on failure a reader of an empty object.
  Reader object(std::string_view key) {
    const json* m = member(key);
    if (m != nullptr && !m->is_object()) failed(join(prefix_, key), "must be an object");
    return Reader(m != nullptr && m->is_object() ? *m : empty(), join(prefix_, key), *error_);
  }
  // A member that must be an object of strings, at most `max` entries.
  std::map<std::string, std::string> textMap(std::string_view key, std::size_t max) {
    std::map<std::string, std::string> out;
    const json* m = member(key);
    if (m == nullptr) return out;
    const std::string path = join(prefix_, key);
    if (!m->is_object()) return failed(path, "must be an object"), out;
    if (m->size() > max)
      return failed(path, "has more than " + std::to_string(max) + " entries"), out;
    for (const auto& [k, v] : m->items()) {
      if (k.empty() || k.size() > 64) return failed(path, "has a key of 0 or over 64 bytes"), out;
      out[k] = textOf(v, join(path, k), kMaxTextBytes);
    }
    return out;
  }

  std::string textOf(const json& j, const std::string& path, std::size_t max) {
    if (!ok()) return {};
    if (!j.is_string()) return failed(path, "must be a string"), std::string{};
    const auto& value = j.get_ref<const std::string&>();
    if (value.size() > max) {
      return failed(path, "is longer than " + std::to_string(max) + " bytes"), std::string{};
    }
    return value;
  }
  std::int64_t integerOf(const json& j, const std::string& path, std::int64_t min,
                         std::int64_t max) {
    if (!ok()) return 0;
    if (!j.is_number_integer()) return failed(path, "must be an integer"), 0;
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxInt64)) {
      return failed(path, "is out of range"), 0;
    }
    std::int64_t value = j.get<std::int64_t>();
    if (value < min || value > max) {
      return failed(path, "must be from " + std::to_string(min) + " to " + std::to_string(max)), 0;
    }
    return value;
  }

  void failed(const std::string& path, const std::string& what) {
    if (ok()) *error_ = Error{Code::kInvalidArgument, "probe report: " + path + " " + what, path};
  }
  bool ok() const { return !error_->has_value(); }
  const std::string& prefix() const { return prefix_; }

 private:
  static const json& empty() {
    static const json kEmpty = json::object();
    return kEmpty;
  }
  const json* member(std::string_view key) {
    if (!ok()) return nullptr;
    auto it = object_->find(key);
    if (it == object_->end()) return failed(join(prefix_, key), "is missing"), nullptr;
    return &*it;
  }
  const json* list(std::string_view key, std::size_t max) {
    const json* m = member(key);
    if (m == nullptr) return nullptr;
    if (!m->is_array()) return failed(join(prefix_, key), "must be an array"), nullptr;
    if (m->size() > max) {
      return failed(join(prefix_, key), "has more than " + std::to_string(max) + " items"), nullptr;
    }
    return m;
  }

  const json* object_;
  std::string prefix_;
  std::optional<Error>* error_;
};

void decodeKernel(Reader f, KernelFacts& k) {
  k.boot_id = f.optText("boot_id");
  k.sysname = f.text("sysname");
  k.release = f.text("release");
  k.version = f.text("version");
  k.machine = f.text("machine");
  k.proc_version = f.text("proc_version");
  k.hypervisor_signs = f.textList("hypervisor_signs", kMaxSigns);
  k.application_kernel_signs = f.textList("application_kernel_signs", kMaxSigns);
}

void decodeProcess(Reader f, ProcessFacts& p) {
  p.pid = f.integer("pid", 0, kMaxU32);
  p.uid = f.integer("uid", -1, kMaxU32);
  p.gid = f.integer("gid", -1, kMaxU32);
  p.euid = f.integer("euid", -1, kMaxU32);
  p.egid = f.integer("egid", -1, kMaxU32);
  p.groups = f.integerList("groups", kMaxGroups, 0, kMaxU32);
  p.cap_inheritable = f.optMask("cap_inheritable");
  p.cap_permitted = f.optMask("cap_permitted");
  p.cap_effective = f.optMask("cap_effective");
  p.cap_bounding = f.optMask("cap_bounding");
  p.cap_ambient = f.optMask("cap_ambient");
  if (auto mode = f.optInteger("seccomp", 0, 2)) p.seccomp = static_cast<int>(*mode);
  p.no_new_privs = f.optBoolean("no_new_privs");
}

void decodeRest(Reader root, Report& r) {
  Reader pids = root.object("pids");
  r.pids.pid1_comm = pids.text("pid1_comm");
  r.pids.pid1_cmdline = pids.text("pid1_cmdline");
  r.pids.visible_processes =
      static_cast<int>(pids.integer("visible_processes", 0, std::numeric_limits<int>::max()));

  r.namespaces = root.textMap("namespaces", kMaxNamespaces);

  Reader w = root.object("writable");
  r.writable.proc_sys_writable = w.boolean("proc_sys_writable");
  r.writable.sys_writable = w.boolean("sys_writable");
  r.writable.proc_sys_mount_ro = w.optBoolean("proc_sys_mount_ro");
  r.writable.sys_mount_ro = w.optBoolean("sys_mount_ro");

  root.objects("masked_paths", kMaxMaskedPaths, [&](Reader& m) {
    MaskedPath item{m.text("path"), m.text("state")};
    if (m.ok() && item.state != "masked" && item.state != "readable" && item.state != "absent") {
      m.failed(join(m.prefix(), "state"), "must be masked, readable or absent");
    }
    r.masked_paths.push_back(std::move(item));
  });
  root.objects("devices", kMaxDevices, [&](Reader& d) {
    Device item;
    item.path = d.text("path");
    std::string type = d.text("type");
    if (d.ok() && type != "c" && type != "b")
      d.failed(join(d.prefix(), "type"), "must be \"c\" or \"b\"");
    item.type = type.empty() ? 'c' : type[0];
    item.major = static_cast<unsigned>(d.integer("major", 0, kMaxU32));
    item.minor = static_cast<unsigned>(d.integer("minor", 0, kMaxU32));
    r.devices.push_back(std::move(item));
  });
  r.runtime_sockets = root.textList("runtime_sockets", kMaxSockets);
  root.objects("mounts", kMaxMounts, [&](Reader& m) {
    r.mounts.push_back(
        Mount{m.text("mount_point"), m.text("fs_type"), m.text("source"), m.text("options")});
  });

  Reader c = root.object("cgroup");
  r.cgroup.version = static_cast<int>(c.integer("version", 0, 2));
  r.cgroup.memory_limit = c.text("memory_limit");
  r.cgroup.cpu_limit = c.text("cpu_limit");
  r.cgroup.pids_limit = c.text("pids_limit");

  Reader n = root.object("network");
  r.network.interfaces = n.textList("interfaces", kMaxInterfaces);
  r.network.host_network_stack = n.optBoolean("host_network_stack");
  r.network.host_network_evidence = n.text("host_network_evidence");

  root.objects("connects", kMaxTargets, [&](Reader& t) {
    r.connects.push_back(
        ConnectResult{t.text("target"), t.text("result"), t.integer("elapsed_ms", 0)});
  });
  r.unreadable = root.textList("unreadable", kMaxUnreadable);
}

}  // namespace

Result<Report> decodeReport(std::string_view json_text) {
  // The bound is the line's: the JSON and the newline the probe ends it with.
  if (json_text.size() > kMaxReportBytes) {
    return fail(Code::kResourceExhausted,
                "probe report: larger than " + std::to_string(kMaxReportBytes) + " bytes");
  }
  if (json_text.ends_with('\n')) json_text.remove_suffix(1);
  auto parsed = api::parseStrictJson(json_text);
  if (!parsed) {
    return fail(Code::kInvalidArgument, "probe report: " + parsed.error().message,
                parsed.error().field);
  }
  if (!parsed->is_object()) return fail(Code::kInvalidArgument, "probe report: not a JSON object");
  std::optional<Error> error;
  Reader root(*parsed, "", error);
  Report r;
  // Compared as read (any 64-bit integer), never narrowed first: 2^32 + 1 is
  // not format 1.
  const std::int64_t format = root.integer("format", std::numeric_limits<std::int64_t>::min());
  if (error) return fail(*error);
  if (format != kReportFormat) {
    return fail(Code::kInvalidArgument,
                "probe report: format " + std::to_string(format) + " is not " +
                    std::to_string(kReportFormat),
                "format");
  }
  r.format = kReportFormat;
  r.probe_version = root.text("probe_version", 64);
  decodeKernel(root.object("kernel"), r.kernel);
  decodeProcess(root.object("process"), r.process);
  decodeRest(root, r);
  if (error) return fail(*error);
  return r;
}

}  // namespace zp::probe
