// Isolation assurance end to end (docs/architecture.md §10): a real server
// with the default trust policy (untrusted and multi_tenant need a verified
// application-kernel, internal anything) and one real agent whose probe
// (the stack's zoneplane/probe image) runs in three classes on the stack's
// containerd:
//   native      runc, claim shared-kernel
//   gvisor      the stack's gVisor handler, claim application-kernel
//   edera-zone  runc again, claiming hypervisor: verified shared-kernel, so
//               quarantined (claim-not-met)
// The tests read the verification through the API and the CLI, probe on
// demand, schedule by verified level, and check that no probe sandbox and no
// workload sandbox is left on containerd.

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "cri/client.h"
#include "e2e_fixture.h"

namespace zp::testsupport {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kProbeLabel = "zoneplane.io/probe";
constexpr const char* kNodeLabel = "zoneplane.io/node-id";

// The item of `classes` (an isolation list) for `name`; null when absent.
json classIn(const json& classes, const std::string& name) {
  if (!classes.is_array()) return nullptr;
  for (const auto& c : classes) {
    if (c.value("runtime_class", "") == name) return c;
  }
  return nullptr;
}

bool hasFinding(const json& cls, const std::string& id) {
  const auto& findings = cls["findings"];
  return findings.is_array() && std::any_of(findings.begin(), findings.end(),
                                            [&](const json& f) { return f.value("id", "") == id; });
}

json finding(const json& cls, const std::string& id) {
  for (const auto& f : cls["findings"]) {
    if (f.value("id", "") == id) return f;
  }
  return nullptr;
}

bool hasHighFinding(const json& cls) {
  const auto& findings = cls["findings"];
  return std::any_of(findings.begin(), findings.end(),
                     [](const json& f) { return f.value("severity", "") == "high"; });
}

// §10.2: a base by level plus 10, minus 25 per high, 10 per medium and 3 per
// low finding, clamped to 0..100.
int scoreFromFindings(const json& cls) {
  const std::string level = cls.value("level", "");
  int score = level == "hypervisor"           ? 90
              : level == "application-kernel" ? 70
              : level == "shared-kernel"      ? 40
                                              : 0;
  if (score == 0) return 0;
  score += 10;
  for (const auto& f : cls["findings"]) {
    const std::string severity = f.value("severity", "");
    score -= severity == "high" ? 25 : severity == "medium" ? 10 : severity == "low" ? 3 : 0;
  }
  return std::clamp(score, 0, 100);
}

// verified_at of an item as a time (nullopt when absent or unreadable).
std::optional<TimePoint> verifiedAt(const json& cls) {
  if (!cls.is_object() || !cls.contains("verified_at") || !cls["verified_at"].is_string()) {
    return std::nullopt;
  }
  return parseRfc3339(cls["verified_at"].get<std::string>());
}

// The isolation items without age_seconds (which moves between two reads).
json withoutAges(json classes) {
  for (auto& c : classes) c.erase("age_seconds");
  return classes;
}

// The word of `text` (split at white space and commas) that contains
// `needle`, "" when none does.
std::string wordWith(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return {};
  const auto separator = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == ','; };
  auto begin = at;
  while (begin > 0 && !separator(text[begin - 1])) --begin;
  auto end = at;
  while (end < text.size() && !separator(text[end])) ++end;
  return text.substr(begin, end - begin);
}

class IsolationE2eTest : public E2eTest {
 protected:
  static constexpr const char* kClasses[] = {"edera-zone", "gvisor", "native"};

  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    probe_image_ = env("ZONEPLANE_PROBE_IMAGE");
    gvisor_handler_ = env("ZONEPLANE_GVISOR_HANDLER");
    if (probe_image_.empty() || gvisor_handler_.empty()) {
      const char* why =
          "the stack has no probe image or no gVisor handler (ZONEPLANE_PROBE_IMAGE or "
          "ZONEPLANE_GVISOR_HANDLER is empty: build zoneplane-probe and run scripts/stack "
          "probe-image; install runsc and jq, then scripts/stack start)";
      if (env("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << why;
      GTEST_SKIP() << why;
    }
    const auto config = dir_ / "agent.toml";
    std::ofstream(config) << agentToml();
    agent_ = &addAgent("iso", {"--config", config.string()});
    agent_->default_classes = false;
    ASSERT_TRUE(startAgent(*agent_));
    // The default trust policy; the default trust of workloads that name
    // none and the stack's registry as the fixture sets them.
    ASSERT_TRUE(startServer());
    waitForNode(node(), [](const json& n) { return n["state"] == "Ready"; });
  }

  std::string agentToml() const {
    const auto cls = [&](const std::string& name, const std::string& handler,
                         const std::string& claim) {
      return "[runtime_classes." + name + "]\nendpoint = \"" + endpoint_ + "\"\nhandler = \"" +
             handler + "\"\nisolation = \"" + claim + "\"\n";
    };
    return "[probe]\nimage = \"" + probe_image_ + "\"\n" + cls("native", "runc", "shared-kernel") +
           cls("gvisor", gvisor_handler_, "application-kernel") +
           cls("edera-zone", "runc", "hypervisor");
  }

  const std::string& node() const { return agent_->id; }

  // Polls GET /nodes/{id}/isolation until every class has a verified result
  // (the agent probes each at start, the first run pulls the probe image).
  json waitVerified() {
    json last;
    const auto deadline = std::chrono::steady_clock::now() + 180s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = http(cli::HttpMethod::kGet, "/nodes/" + node() + "/isolation");
      last = r.body;
      if (r.status == 200 && std::all_of(std::begin(kClasses), std::end(kClasses), [&](auto name) {
            return verifiedAt(classIn(last["classes"], name)).has_value();
          })) {
        return last;
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "the classes of " << node()
                  << " were never all verified; last: " << last.dump();
    return last;
  }

  // The probe sandboxes of this test's node on containerd (every class).
  std::vector<std::string> probeSandboxes() {
    auto client = cri::Client::create(endpoint_);
    if (!client) return {"(no CRI client: " + client.error().message + ")"};
    cri::v1::PodSandboxFilter filter;
    (*filter.mutable_label_selector())[kNodeLabel] = node();
    auto list = (*client)->listPodSandbox(filter);
    if (!list) return {"(list failed: " + list.error().message + ")"};
    std::vector<std::string> probes;
    for (const auto& sandbox : *list) {
      if (auto it = sandbox.labels().find(kProbeLabel); it != sandbox.labels().end()) {
        probes.push_back(it->second + " " + sandbox.id());
      }
    }
    return probes;
  }

  // A probe's sandbox is removed when the probe ends; nothing is left over.
  void expectNoProbeSandboxes() {
    std::vector<std::string> left;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    do {
      left = probeSandboxes();
      if (left.empty()) return;
      std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "probe sandboxes left on containerd: " << json(left).dump();
  }

  HttpResult submit(const std::string& id, const std::string& trust,
                    const std::string& runtime_class) {
    json body{{"id", id},        {"image", image_},       {"trust", trust},
              {"memory_mb", 64}, {"cpu_millicores", 100}, {"command", {"sleep", "3600"}}};
    if (!runtime_class.empty()) body["runtime_class"] = runtime_class;
    return http(cli::HttpMethod::kPost, "/workloads", body.dump());
  }

  std::string probe_image_, gvisor_handler_;
  Agent* agent_ = nullptr;
};

TEST_F(IsolationE2eTest, ProbesVerifyEveryClassAndQuarantineTheOneBelowItsClaim) {
  const json verified = waitVerified();
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(verified["node"], node());
  const json& classes = verified["classes"];
  ASSERT_EQ(classes.size(), 3u) << verified.dump();

  const json native = classIn(classes, "native");
  EXPECT_EQ(native["claim"], "shared-kernel") << native.dump();
  EXPECT_EQ(native["level"], "shared-kernel") << native.dump();
  EXPECT_EQ(native["quarantined"], false);
  EXPECT_TRUE(hasFinding(native, "host-kernel-shared")) << native.dump();
  EXPECT_FALSE(hasHighFinding(native)) << native.dump();

  const json gvisor = classIn(classes, "gvisor");
  EXPECT_EQ(gvisor["claim"], "application-kernel") << gvisor.dump();
  EXPECT_EQ(gvisor["level"], "application-kernel") << gvisor.dump();
  EXPECT_EQ(gvisor["quarantined"], false);
  // The stack's runsc runs with --network=host: its sockets are the host kernel's.
  EXPECT_EQ(finding(gvisor, "network-host-kernel").value("severity", ""), "medium")
      << gvisor.dump();
  EXPECT_FALSE(hasFinding(gvisor, "host-kernel-shared")) << gvisor.dump();

  const json edera = classIn(classes, "edera-zone");
  EXPECT_EQ(edera["claim"], "hypervisor") << edera.dump();
  EXPECT_EQ(edera["level"], "shared-kernel") << edera.dump();
  EXPECT_EQ(edera["quarantined"], true);
  const json not_met = finding(edera, "claim-not-met");
  ASSERT_TRUE(not_met.is_object()) << edera.dump();
  EXPECT_EQ(not_met["severity"], "high");
  const std::string evidence = not_met.value("evidence", "");
  EXPECT_NE(evidence.find("hypervisor"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("shared-kernel"), std::string::npos) << evidence;
  EXPECT_FALSE(not_met.value("remedy", "").empty()) << not_met.dump();

  for (const json& c : {native, gvisor, edera}) {
    EXPECT_EQ(c["score"], scoreFromFindings(c)) << c.dump();
    EXPECT_FALSE(c.value("probe_version", "").empty()) << c.dump();
    EXPECT_FALSE(c.contains("error")) << c.dump();
    EXPECT_TRUE(c["age_seconds"].is_number_integer()) << c.dump();
  }

  // GET /nodes and GET /nodes/{id} show the same.
  auto nodes = http(cli::HttpMethod::kGet, "/nodes");
  ASSERT_EQ(nodes.status, 200) << nodes.body.dump();
  ASSERT_EQ(nodes.body["items"].size(), 1u) << nodes.body.dump();
  EXPECT_EQ(withoutAges(nodes.body["items"][0]["isolation"]), withoutAges(classes));
  EXPECT_EQ(withoutAges(http(cli::HttpMethod::kGet, "/nodes/" + node()).body["isolation"]),
            withoutAges(classes));

  // The server noted the quarantine in its audit log (appended asynchronously).
  json entry;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (entry.is_null() && std::chrono::steady_clock::now() < deadline) {
    const auto audit = http(cli::HttpMethod::kGet, "/audit");
    for (const auto& e : audit.body["items"]) {
      if (e.value("action", "") == "isolation.quarantined") entry = e;
    }
    if (entry.is_null()) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(entry.is_object()) << "no isolation.quarantined audit entry";
  EXPECT_EQ(entry["principal"], "node:" + node()) << entry.dump();
  EXPECT_NE(entry.value("target", "").find("edera-zone"), std::string::npos) << entry.dump();

  // The CLI: every class with its level and findings, and the node list
  // with CLASS:LEVEL/SCORE, the quarantined class marked.
  auto shown = cli({"isolation", node()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  if (shown.exit_code == 0) {
    for (const char* text :
         {"native", "gvisor", "edera-zone", "shared-kernel", "application-kernel", "hypervisor",
          "claim-not-met", "network-host-kernel"}) {
      EXPECT_NE(shown.out.find(text), std::string::npos) << text << " in:\n" << shown.out;
    }
    EXPECT_NE(shown.out.find(evidence), std::string::npos) << evidence << " in:\n" << shown.out;
  }
  auto listed = cli({"nodes"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  const auto cell = [&](const json& c, const std::string& level) {
    return wordWith(listed.out, c["runtime_class"].get<std::string>() + ":" + level + "/" +
                                    std::to_string(c["score"].get<int>()));
  };
  const std::string native_cell = cell(native, "shared-kernel");
  const std::string gvisor_cell = cell(gvisor, "application-kernel");
  const std::string edera_cell = cell(edera, "shared-kernel");
  EXPECT_TRUE(!native_cell.empty() && native_cell.find('!') == std::string::npos) << listed.out;
  EXPECT_TRUE(!gvisor_cell.empty() && gvisor_cell.find('!') == std::string::npos) << listed.out;
  EXPECT_NE(edera_cell.find('!'), std::string::npos) << listed.out;

  // On demand: one class, then every class; each answer carries fresh results.
  auto one = http(cli::HttpMethod::kPost, "/nodes/" + node() + "/probe?runtime_class=gvisor");
  ASSERT_EQ(one.status, 200) << one.body.dump();
  EXPECT_EQ(one.body["node"], node());
  const json gvisor_again = classIn(one.body["classes"], "gvisor");
  EXPECT_GT(verifiedAt(gvisor_again), verifiedAt(gvisor)) << gvisor_again.dump();
  EXPECT_EQ(gvisor_again["level"], "application-kernel") << gvisor_again.dump();
  EXPECT_EQ(verifiedAt(classIn(one.body["classes"], "native")), verifiedAt(native))
      << "only gvisor was asked for: " << one.body.dump();

  auto all = http(cli::HttpMethod::kPost, "/nodes/" + node() + "/probe");
  ASSERT_EQ(all.status, 200) << all.body.dump();
  for (const json& before : {native, gvisor_again, edera}) {
    const json after = classIn(all.body["classes"], before["runtime_class"]);
    EXPECT_GT(verifiedAt(after), verifiedAt(before)) << after.dump();
    EXPECT_EQ(after["level"], before["level"]) << after.dump();
    EXPECT_EQ(after["quarantined"], before["quarantined"]) << after.dump();
  }
  EXPECT_EQ(http(cli::HttpMethod::kPost, "/nodes/" + node() + "/probe?runtime_class=kata").status,
            404);
  EXPECT_EQ(http(cli::HttpMethod::kPost, "/nodes/no-such-node/probe").status, 404);

  expectNoProbeSandboxes();
}

TEST_F(IsolationE2eTest, AdmissionGoesByTheVerifiedLevel) {
  const json verified = waitVerified();
  ASSERT_FALSE(HasFailure());
  const json gvisor = classIn(verified["classes"], "gvisor");
  const json native = classIn(verified["classes"], "native");
  // The default policy's requirements.
  auto levels = http(cli::HttpMethod::kGet, "/trust-levels");
  ASSERT_EQ(levels.status, 200) << levels.body.dump();
  for (const auto& level : levels.body["items"]) {
    EXPECT_EQ(level["min_isolation"], level["name"] == "internal" ? "any" : "application-kernel")
        << level.dump();
  }

  // The quarantined class is accepted but never placed for untrusted work.
  auto edera = submit("iso-edera", "untrusted", "edera-zone");
  ASSERT_EQ(edera.status, 201) << edera.body.dump();
  EXPECT_EQ(edera.body["status"]["state"], "Pending");
  EXPECT_EQ(edera.body["status"]["reason"], "Unschedulable");
  EXPECT_EQ(edera.body["status"]["node"], "");
  EXPECT_EQ(edera.body["status"]["message"],
            "0/1 nodes available: 1 class not verified (edera-zone: shared-kernel, quarantined; "
            "below application-kernel)");

  // Untrusted work without a class goes past edera-zone to gvisor and runs there.
  auto placed = submit("iso-gvisor", "untrusted", "");
  ASSERT_EQ(placed.status, 201) << placed.body.dump();
  EXPECT_EQ(placed.body["spec"]["runtime_class"], "gvisor") << placed.body.dump();
  EXPECT_EQ(placed.body["status"]["node"], node());
  const std::string message = placed.body["status"].value("message", "");
  EXPECT_NE(message.find("gvisor: application-kernel"), std::string::npos) << message;
  auto running = waitForState("iso-gvisor", "Running");
  EXPECT_EQ(running["status"]["runtime_handler"], gvisor_handler_);
  const json isolation = running["status"]["isolation"];
  EXPECT_EQ(isolation["level"], "application-kernel") << running.dump();
  EXPECT_EQ(isolation["score"], gvisor["score"]) << running.dump();
  EXPECT_EQ(isolation["quarantined"], false) << running.dump();
  EXPECT_EQ(isolation["verified_at"], gvisor["verified_at"]) << running.dump();
  auto client = cri::Client::create(endpoint_);
  ASSERT_TRUE(client);
  auto sandbox = (*client)->podSandboxStatus(running["status"]["sandbox_id"].get<std::string>());
  ASSERT_TRUE(sandbox) << sandbox.error().message;
  EXPECT_EQ(sandbox->status().runtime_handler(), gvisor_handler_);

  // Internal work requires nothing: a shared kernel will do.
  auto internal = submit("iso-native", "internal", "native");
  ASSERT_EQ(internal.status, 201) << internal.body.dump();
  auto internal_running = waitForState("iso-native", "Running");
  EXPECT_EQ(internal_running["status"]["isolation"]["level"], "shared-kernel");
  EXPECT_EQ(internal_running["status"]["isolation"]["score"], native["score"]);

  // Meanwhile the quarantined class's workload has not moved.
  auto waiting = http(cli::HttpMethod::kGet, "/workloads/iso-edera");
  EXPECT_EQ(waiting.body["status"]["state"], "Pending") << waiting.body.dump();
  EXPECT_EQ(waiting.body["status"]["reason"], "Unschedulable") << waiting.body.dump();
  EXPECT_FALSE(waiting.body["status"].contains("isolation")) << waiting.body.dump();

  for (const char* id : {"iso-edera", "iso-gvisor", "iso-native"}) {
    EXPECT_EQ(
        http(cli::HttpMethod::kDelete, std::string("/workloads/") + id + "?grace_seconds=0").status,
        200)
        << id;
    EXPECT_EQ(sandboxesOf(id), 0u) << id;
  }
  expectNoProbeSandboxes();
}

}  // namespace
}  // namespace zp::testsupport
