// The posture every workload gets, read FROM INSIDE real containers (the real
// agent, containerd and runc of the stack): each workload prints what its
// process sees (/proc/self/status, mountinfo, cgroup, id, hostname, the
// outcome of writes and forks) into its CRI log, and the test reads that log.
// Also the node's user allocation across restarts and removals, and the pod
// cgroups' life cycle.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "agent/pod_cgroups.h"
#include "agent/user_resolution.h"
#include "agent_fixture.h"
#include "api/validate.h"

namespace zp::agent_it {
namespace {

namespace fs = std::filesystem;

// Capability numbers (linux/capability.h) of the names the baseline set uses.
const std::map<std::string, int> kCapabilityBits = {
    {"CHOWN", 0},        {"DAC_OVERRIDE", 1}, {"FOWNER", 3},
    {"FSETID", 4},       {"KILL", 5},         {"SETGID", 6},
    {"SETUID", 7},       {"SETPCAP", 8},      {"NET_BIND_SERVICE", 10},
    {"NET_RAW", 13},     {"SYS_CHROOT", 18},  {"MKNOD", 27},
    {"AUDIT_WRITE", 29}, {"SETFCAP", 31}};
constexpr const char* kNoCapabilities = "0000000000000000";

// What the probe script prints: /proc/self/status lines, key=value lines and
// the cgroup lines, for the test to read back from the log.
constexpr const char* kProbe = R"probe(
grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
echo "id=$(id -u):$(id -g)"
echo "hostname=$(hostname)"
if echo 61 > /proc/sys/vm/swappiness; then echo procsys=written; else echo procsys=refused; fi
echo "procsys_mount=$(grep ' /proc/sys ' /proc/self/mountinfo | cut -d' ' -f6)"
echo "keys_bytes=$(cat /proc/keys | wc -c)"
echo "keys_masked=$(grep -c ' /proc/keys ' /proc/self/mountinfo)"
echo "timer_list_bytes=$(cat /proc/timer_list 2>/dev/null | wc -c)"
echo "firmware_entries=$(ls -A /sys/firmware | wc -l)"
if echo x > /tmp/probe; then echo tmp=written; else echo tmp=refused; fi
echo "pids_cgroup=$(grep ':pids:' /proc/self/cgroup || grep '^0::' /proc/self/cgroup)"
echo "own_pids_max=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"
echo probe-done
)probe";

struct Inside {
  std::string log;                           // the whole CRI log
  std::vector<std::string> out, err;         // stdout / stderr lines, in order
  std::map<std::string, std::string> value;  // "Key:\tvalue" and "key=value" lines
  bool has(const std::string& line) const {
    return std::find(out.begin(), out.end(), line) != out.end();
  }
  bool errHas(const std::string& needle) const {
    for (const auto& e : err) {
      if (e.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

// Parses the CRI log format: "<time> <stdout|stderr> <P|F> <text>".
Inside parseLog(std::string log) {
  Inside in;
  in.log = std::move(log);
  std::istringstream lines(in.log);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string time, stream, tag;
    fields >> time >> stream >> tag;
    std::string text;
    std::getline(fields, text);
    if (!text.empty() && text.front() == ' ') text.erase(0, 1);
    (stream == "stderr" ? in.err : in.out).push_back(text);
    if (stream != "stdout") continue;
    if (const auto colon = text.find(":\t"); colon != std::string::npos) {
      in.value[text.substr(0, colon)] = text.substr(colon + 2);
    } else if (const auto eq = text.find('='); eq != std::string::npos) {
      in.value[text.substr(0, eq)] = text.substr(eq + 1);
    }
  }
  return in;
}

std::string hexMask(std::uint64_t mask) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(mask));
  return buf;
}

class Security : public AgentIntegrationTest {
 protected:
  // The workload JSON, with `security` when given.
  Json secured(const std::string& id, const std::string& script, const Json& security,
               const std::string& image = "") const {
    auto w = workloadJson(id, image.empty() ? image_ : image, {"sh", "-c", script});
    if (!security.is_null()) w["security"] = security;
    return w;
  }

  // Runs `script` to completion and returns what it printed; `status` gets the
  // final status. Waits for `until` in the log (the end of the output).
  Inside runInside(const std::string& tag, const std::string& script, const Json& security,
                   Json& status, const std::string& until = "probe-done",
                   const std::string& image = "") {
    const auto id = workloadId(tag);
    auto accepted = startWorkload(secured(id, script, security, image));
    EXPECT_EQ(accepted.value("type", ""), "Status") << accepted.dump();
    EXPECT_TRUE(waitTerminal(id, 90s, status)) << status.dump();
    const auto log = waitLogContains(status.value("log_path", ""), until, 20s);
    return parseLog(log);
  }

  // The submission uid of a workload (its sandbox's label).
  std::string submissionUid(const std::string& id) const {
    auto sandboxes = sandboxesOf(id);
    if (sandboxes.size() != 1) return {};
    return sandboxes[0].labels().at("zoneplane.io/uid");
  }

  // The host directory whose pids.max bounds the workload's pod.
  fs::path podPidsDirectory(const std::string& submission_uid) const {
    auto cgroups = agent::CgroupfsPodCgroups::create(node_id_);
    if (!cgroups) {
      ADD_FAILURE() << cgroups.error().toString();
      return {};
    }
    agent::WorkloadIdentity identity;
    identity.uid = submission_uid;
    return (*cgroups)->podDirectory(identity);
  }

  bool cgroupV2() const {
    auto cgroups = agent::CgroupfsPodCgroups::create(node_id_);
    return cgroups && (*cgroups)->layout() == agent::CgroupfsPodCgroups::Layout::kV2;
  }

  // Whether the pod's cgroup exists in any hierarchy of the host.
  bool podCgroupExists(const std::string& submission_uid) const {
    const std::string relative = "zoneplane/" + node_id_ + "/pod" + submission_uid;
    std::error_code ec;
    if (fs::exists(fs::path("/sys/fs/cgroup") / relative, ec)) return true;
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      if (fs::exists(h.path() / relative, ec)) return true;
    }
    return false;
  }
};

TEST_F(Security, DefaultWorkloadIsRestrictedInside) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  Json st;
  const auto in = runInside("default", kProbe, Json(), st);
  ASSERT_EQ(st.value("state", ""), "Succeeded") << st.dump() << "\n" << in.log;
  ASSERT_TRUE(in.has("probe-done")) << in.log;

  // The status states the posture; the process has exactly that user.
  EXPECT_EQ(st.value("profile", ""), "restricted") << st.dump();
  const std::int64_t uid = st.value("run_as_user", std::int64_t{-1});
  const std::int64_t gid = st.value("run_as_group", std::int64_t{-1});
  EXPECT_TRUE(agent::UidRange{}.contains(uid)) << st.dump();  // the image runs as root: allocated
  EXPECT_EQ(gid, uid) << st.dump();
  const auto u = std::to_string(uid), g = std::to_string(gid);
  EXPECT_EQ(in.value.at("Uid"), u + "\t" + u + "\t" + u + "\t" + u) << in.log;
  EXPECT_EQ(in.value.at("Gid"), g + "\t" + g + "\t" + g + "\t" + g) << in.log;
  EXPECT_EQ(in.value.at("id"), u + ":" + g);

  // No capability in any set; no_new_privs; seccomp filter mode.
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(in.value.at(set), kNoCapabilities) << set << "\n" << in.log;
  }
  EXPECT_EQ(in.value.at("NoNewPrivs"), "1");
  EXPECT_EQ(in.value.at("Seccomp"), "2");

  // /proc/sys is mounted read-only and the host's swappiness cannot be written.
  EXPECT_EQ(in.value.at("procsys"), "refused") << in.log;
  EXPECT_TRUE(in.value.at("procsys_mount").starts_with("ro,")) << in.value.at("procsys_mount");
  EXPECT_TRUE(in.errHas("Read-only file system")) << in.log;
  // /proc/keys is masked (an empty bind mount over it), /sys/firmware is empty.
  EXPECT_EQ(in.value.at("keys_bytes"), "0") << in.log;
  EXPECT_EQ(in.value.at("keys_masked"), "1") << in.log;
  EXPECT_EQ(in.value.at("firmware_entries"), "0") << in.log;

  // Its own UTS namespace; a writable root fs by default (/tmp is 1777).
  EXPECT_EQ(in.value.at("hostname"), st.value("id", "")) << in.log;
  EXPECT_EQ(in.value.at("tmp"), "written") << in.log;

  // The container lives in its pod's cgroup, whose pids.max is the default.
  const auto submission = submissionUid(st.value("id", ""));
  ASSERT_FALSE(submission.empty());
  EXPECT_NE(in.value.at("pids_cgroup").find("/zoneplane/" + node_id_ + "/pod" + submission + "/"),
            std::string::npos)
      << in.value.at("pids_cgroup");
  EXPECT_EQ(readFile(podPidsDirectory(submission) / "pids.max"), "1024\n");
  // cgroup v2 also sets the container's own pids.max; on v1 it reads "max"
  // and the pod's cgroup above it enforces the limit (see PidsLimitIsEnforcedFromInside).
  if (cgroupV2()) {
    EXPECT_EQ(in.value.at("own_pids_max"), "1024");
  }
}

TEST_F(Security, PidsLimitIsEnforcedFromInside) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  // Forks until the pod's pids limit says no. The pod holds the sandbox's
  // process and this shell: at most limit - 2 sleeps can start.
  constexpr int kLimit = 16;
  const std::string script =
      "i=0; while [ $i -lt 40 ]; do sleep 120 & i=$((i+1)); echo spawned=$i; done; echo "
      "fork-never-failed";
  Json st;
  const auto in = runInside("pids", script, Json{{"pids_limit", kLimit}}, st, "can't fork");
  EXPECT_EQ(st.value("state", ""), "Failed") << st.dump();
  EXPECT_TRUE(in.errHas("can't fork: Resource temporarily unavailable")) << in.log;
  EXPECT_FALSE(in.has("fork-never-failed")) << in.log;
  ASSERT_TRUE(in.value.contains("spawned")) << in.log;
  const int spawned = std::stoi(in.value.at("spawned"));
  EXPECT_LE(spawned, kLimit - 2) << in.log;
  EXPECT_GE(spawned, kLimit - 4) << in.log;  // the limit, not something else, stopped it
  const auto submission = submissionUid(st.value("id", ""));
  EXPECT_EQ(readFile(podPidsDirectory(submission) / "pids.max"), std::to_string(kLimit) + "\n");
}

TEST_F(Security, BaselineRunsAsRootWithTheBaselineCapabilitiesAndNoNetRaw) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  std::uint64_t want = 0;
  for (auto name : api::kBaselineCapabilities) {
    ASSERT_TRUE(kCapabilityBits.contains(std::string(name))) << name;
    want |= std::uint64_t{1} << kCapabilityBits.at(std::string(name));
  }
  const std::string script = std::string(kProbe) +
                             "if ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1; then echo ping=sent; "
                             "else echo ping=refused; fi; echo baseline-done";
  Json st;
  const auto in = runInside("baseline", script, Json{{"profile", "baseline"}}, st, "baseline-done");
  ASSERT_EQ(st.value("state", ""), "Succeeded") << st.dump() << "\n" << in.log;
  EXPECT_EQ(st.value("profile", ""), "baseline") << st.dump();
  EXPECT_EQ(st.value("run_as_user", -1), 0) << st.dump();
  EXPECT_EQ(in.value.at("Uid"), "0\t0\t0\t0") << in.log;
  EXPECT_EQ(in.value.at("CapEff"), hexMask(want)) << in.log;
  EXPECT_EQ(in.value.at("CapBnd"), hexMask(want)) << in.log;
  EXPECT_EQ(std::stoull(in.value.at("CapEff"), nullptr, 16) & (1ull << 13), 0u) << "NET_RAW";
  EXPECT_EQ(in.value.at("ping"), "refused") << in.log;  // no raw sockets
  EXPECT_EQ(in.value.at("NoNewPrivs"), "1");
  EXPECT_EQ(in.value.at("Seccomp"), "2");
  // Root, and still: /proc/sys read-only, /proc/keys and /proc/timer_list masked.
  EXPECT_EQ(in.value.at("procsys"), "refused") << in.log;
  EXPECT_EQ(in.value.at("keys_bytes"), "0") << in.log;
  EXPECT_EQ(in.value.at("timer_list_bytes"), "0") << in.log;
}

TEST_F(Security, ReadOnlyRootFsRefusesWrites) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  Json st;
  auto in = runInside("rofs", kProbe, Json{{"read_only_root_fs", true}}, st);
  ASSERT_EQ(st.value("state", ""), "Succeeded") << st.dump() << "\n" << in.log;
  EXPECT_EQ(in.value.at("tmp"), "refused") << in.log;
  EXPECT_TRUE(in.errHas("can't create /tmp/probe: Read-only file system")) << in.log;
  EXPECT_EQ(in.value.at("CapEff"), kNoCapabilities);
  // As root (baseline), writing to / itself fails for the same reason.
  in =
      runInside("rofs-root",
                "if echo x > /probe; then echo root=written; else echo root=refused; fi; echo done",
                Json{{"profile", "baseline"}, {"read_only_root_fs", true}}, st, "done");
  EXPECT_EQ(in.value.at("root"), "refused") << in.log;
  EXPECT_TRUE(in.errHas("can't create /probe: Read-only file system")) << in.log;
}

TEST_F(Security, AnImagesNonRootUserIsUsedAndTheSpecsIdsWin) {
  const auto nonroot = envOrEmpty("ZONEPLANE_TEST_NONROOT_IMAGE");
  if (nonroot.empty()) {
    const char* why = "ZONEPLANE_TEST_NONROOT_IMAGE is not set (scripts/stack start sets it)";
    if (envOrEmpty("ZONEPLANE_REQUIRE_STACK") == "1") FAIL() << why;
    GTEST_SKIP() << why;
  }
  ASSERT_NO_FATAL_FAILURE(startAgent());
  Json st;
  auto in =
      runInside("imguser", "echo id=$(id -u):$(id -g); echo done", Json(), st, "done", nonroot);
  ASSERT_EQ(st.value("state", ""), "Succeeded") << st.dump() << "\n" << in.log;
  EXPECT_EQ(in.value.at("id"), "1000:1000") << in.log;
  EXPECT_EQ(st.value("run_as_user", -1), 1000) << st.dump();
  EXPECT_EQ(st.value("run_as_group", -1), 1000) << st.dump();

  in = runInside("specuser", "echo id=$(id -u):$(id -g); echo done",
                 Json{{"run_as_user", 4242}, {"run_as_group", 4343}}, st, "done", nonroot);
  EXPECT_EQ(in.value.at("id"), "4242:4343") << in.log;
  EXPECT_EQ(st.value("run_as_user", -1), 4242) << st.dump();
  EXPECT_EQ(st.value("run_as_group", -1), 4343) << st.dump();
}

TEST_F(Security, NetBindServiceLetsTheNonRootUserBindALowPort) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const std::string script =
      "grep CapEff /proc/self/status; timeout 1 nc -l -p 80; echo rc=$?; echo done";
  Json st;
  auto in = runInside("nobind", script, Json(), st, "done");
  EXPECT_EQ(in.value.at("rc"), "1") << in.log;
  EXPECT_TRUE(in.errHas("bind: Permission denied")) << in.log;

  in = runInside("bind", script, Json{{"capabilities_add", {"NET_BIND_SERVICE"}}}, st, "done");
  EXPECT_EQ(in.value.at("rc"), "143") << in.log;  // listened until `timeout` ended it
  EXPECT_FALSE(in.errHas("Permission denied")) << in.log;
  EXPECT_EQ(in.value.at("CapEff"), kNoCapabilities) << in.log;
  EXPECT_NE(st.value("run_as_user", 0), 0) << st.dump();
}

TEST_F(Security, AllocatedUidsAreDistinctSurviveARestartAndGoWithTheWorkload) {
  ASSERT_NO_FATAL_FAILURE(startAgent());
  // A pod cgroup left by a crash, which no sandbox owns.
  auto cgroups = agent::CgroupfsPodCgroups::create(node_id_);
  ASSERT_TRUE(cgroups.has_value()) << cgroups.error().toString();
  agent::WorkloadIdentity orphan;
  orphan.uid = randomHex(32);
  ASSERT_TRUE((*cgroups)->prepare(orphan).has_value());

  const std::string script = "echo id=$(id -u); sleep 300";
  const auto a = workloadId("uid-a"), b = workloadId("uid-b");
  for (const auto& id : {a, b}) {
    ASSERT_EQ(startWorkload(secured(id, script, Json())).value("type", ""), "Status");
  }
  std::map<std::string, std::int64_t> uid;
  for (const auto& id : {a, b}) {
    Json st;
    ASSERT_TRUE(waitState(id, "Running", 60s, st)) << st.dump();
    uid[id] = st.value("run_as_user", std::int64_t{-1});
    EXPECT_TRUE(agent::UidRange{}.contains(uid[id])) << st.dump();
    const auto log = waitLogContains(st.value("log_path", ""), "id=");
    EXPECT_NE(log.find("stdout F id=" + std::to_string(uid[id])), std::string::npos) << log;
  }
  EXPECT_NE(uid[a], uid[b]);
  const auto submission_a = submissionUid(a), submission_b = submissionUid(b);
  EXPECT_TRUE(podCgroupExists(submission_a));

  // After a restart: the same users, the orphan's cgroup gone, the live ones kept.
  client_.reset();
  agent_.kill9();
  ASSERT_NO_FATAL_FAILURE(startAgent());
  for (const auto& id : {a, b}) {
    auto st = getStatus(id);
    EXPECT_EQ(st.value("run_as_user", std::int64_t{-1}), uid[id]) << st.dump();
    EXPECT_EQ(st.value("run_as_group", std::int64_t{-1}), uid[id]) << st.dump();
    EXPECT_EQ(st.value("profile", ""), "restricted") << st.dump();
  }
  EXPECT_FALSE(podCgroupExists(orphan.uid));
  EXPECT_TRUE(podCgroupExists(submission_a));
  EXPECT_TRUE(podCgroupExists(submission_b));

  // A new workload never gets a uid in use.
  const auto c = workloadId("uid-c");
  ASSERT_EQ(startWorkload(secured(c, script, Json())).value("type", ""), "Status");
  Json st;
  ASSERT_TRUE(waitState(c, "Running", 60s, st)) << st.dump();
  const std::int64_t uid_c = st.value("run_as_user", std::int64_t{-1});
  EXPECT_TRUE(agent::UidRange{}.contains(uid_c)) << st.dump();
  EXPECT_NE(uid_c, uid[a]);
  EXPECT_NE(uid_c, uid[b]);

  // Removal takes the pod cgroup along (every hierarchy).
  ASSERT_EQ(removeWorkload(a, 1).value("type", ""), "Removed");
  EXPECT_FALSE(podCgroupExists(submission_a));
  EXPECT_TRUE(podCgroupExists(submission_b));
}

}  // namespace
}  // namespace zp::agent_it
