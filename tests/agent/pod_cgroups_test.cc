// CgroupfsPodCgroups on a scratch directory laid out like /sys/fs/cgroup (v1
// and v2). Plain files stand in for the kernel's control files, so this checks
// which files are written and which directories are made and removed; the
// kernel's side is covered by tests/integration/agent_security_test.cc.

#include "agent/pod_cgroups.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace zp::agent {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void touch(const fs::path& p, const std::string& text = "") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

WorkloadIdentity pod(std::string uid, std::int64_t pids = 1024) {
  WorkloadIdentity id;
  id.spec.id = "wl-" + uid;
  id.spec.security.pids_limit = pids;
  id.uid = std::move(uid);
  return id;
}

class PodCgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zp-cgroups-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  // A v1 host: one directory per hierarchy, a co-mounted pair as a symlink.
  void layOutV1() {
    for (const char* h : {"pids", "memory", "cpu,cpuacct", "systemd", "unified"}) {
      touch(root_ / h / "cgroup.procs");
    }
    fs::create_directory_symlink("cpu,cpuacct", root_ / "cpu");
  }
  void layOutV2(const std::string& controllers = "cpu memory pids") {
    touch(root_ / "cgroup.controllers", controllers + "\n");
    touch(root_ / "cgroup.procs");
  }
  fs::path root_;
};

TEST_F(PodCgroupsTest, DetectsTheLayoutOrSaysWhatIsMissing) {
  auto none = CgroupfsPodCgroups::create("node-1", root_);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Code::kFailedPrecondition);
  EXPECT_NE(none.error().message.find("no pids cgroup controller"), std::string::npos);

  layOutV2("cpu memory");
  auto v2_without_pids = CgroupfsPodCgroups::create("node-1", root_);
  ASSERT_FALSE(v2_without_pids);
  EXPECT_NE(v2_without_pids.error().message.find("pids"), std::string::npos);

  layOutV2();
  auto v2 = CgroupfsPodCgroups::create("node-1", root_);
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ((*v2)->layout(), CgroupfsPodCgroups::Layout::kV2);
}

TEST_F(PodCgroupsTest, PlacementIsTheNodesPodPathAndUnifiedOnlyOnV2) {
  layOutV1();
  auto v1 = CgroupfsPodCgroups::create("node-1", root_);
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ((*v1)->layout(), CgroupfsPodCgroups::Layout::kV1);
  EXPECT_EQ((*v1)->placement(pod("abc")), (PodPlacement{"/zoneplane/node-1/podabc", false}));
  EXPECT_EQ((*v1)->podDirectory(pod("abc")), root_ / "pids/zoneplane/node-1/podabc");
  EXPECT_EQ(NoPodCgroups().placement(pod("abc")), PodPlacement{});
}

TEST_F(PodCgroupsTest, V1PrepareWritesPidsMaxInThePidsHierarchy) {
  layOutV1();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  ASSERT_TRUE(cg->prepare(pod("abc", 300)));
  EXPECT_EQ(slurp(root_ / "pids/zoneplane/node-1/podabc/pids.max"), "300");
  ASSERT_TRUE(cg->prepare(pod("abc", 400)));  // idempotent, limit rewritten
  EXPECT_EQ(slurp(root_ / "pids/zoneplane/node-1/podabc/pids.max"), "400");
  EXPECT_FALSE(fs::exists(root_ / "memory/zoneplane"));  // the runtime makes the others
}

TEST_F(PodCgroupsTest, V2PrepareEnablesPidsDownToTheNodeAndWritesPidsMax) {
  layOutV2();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  ASSERT_TRUE(cg->prepare(pod("abc", 64)));
  EXPECT_EQ(slurp(root_ / "zoneplane/node-1/podabc/pids.max"), "64");
  EXPECT_EQ(slurp(root_ / "cgroup.subtree_control"), "+pids");
  EXPECT_EQ(slurp(root_ / "zoneplane/cgroup.subtree_control"), "+pids");
  EXPECT_EQ(slurp(root_ / "zoneplane/node-1/cgroup.subtree_control"), "+pids");
  EXPECT_FALSE(fs::exists(root_ / "zoneplane/node-1/podabc/cgroup.subtree_control"));
  EXPECT_TRUE(cg->placement(pod("abc")).unified_pids);
}

TEST_F(PodCgroupsTest, TheNodeDirectoryIsMadeOnDemandAndRemovedIfMadeAndEmpty) {
  layOutV2();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  auto dir = cg->nodeDirectory();
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_EQ(*dir, root_ / "zoneplane/node-1");
  EXPECT_TRUE(fs::is_directory(*dir));
  EXPECT_EQ(slurp(root_ / "zoneplane/cgroup.subtree_control"), "+pids");
  ASSERT_TRUE(cg->prepare(pod("abc")));  // a pod in it keeps it
  cg->removeNodeDirectoryIfMadeAndEmpty();
  EXPECT_TRUE(fs::is_directory(root_ / "zoneplane/node-1/podabc"));
  ASSERT_TRUE(cg->release(pod("abc")));
  // On cgroupfs control files do not keep a directory; here they would.
  fs::remove(*dir / "cgroup.subtree_control");
  cg->removeNodeDirectoryIfMadeAndEmpty();
  EXPECT_FALSE(fs::exists(*dir));

  // One that was there before is found, not written, and left at the end.
  ASSERT_TRUE(fs::create_directories(*dir));
  auto other = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  fs::remove(root_ / "zoneplane/cgroup.subtree_control");
  ASSERT_TRUE(other->nodeDirectory());
  EXPECT_FALSE(fs::exists(root_ / "zoneplane/cgroup.subtree_control"));
  other->removeNodeDirectoryIfMadeAndEmpty();
  EXPECT_TRUE(fs::is_directory(*dir));
}

TEST_F(PodCgroupsTest, ReleaseRemovesThePodFromEveryHierarchyAndOnlyIt) {
  layOutV1();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  ASSERT_TRUE(cg->prepare(pod("abc")));
  ASSERT_TRUE(cg->prepare(pod("def")));
  // What the runtime made: the pod's directory (and a leftover container
  // cgroup) in the other hierarchies.
  for (const char* h : {"memory", "cpu,cpuacct", "systemd", "unified"}) {
    fs::create_directories(root_ / h / "zoneplane/node-1/podabc/c0ffee");
  }
  ASSERT_TRUE(cg->release(pod("abc")));
  for (const char* h : {"pids", "memory", "cpu,cpuacct", "systemd", "unified"}) {
    EXPECT_FALSE(fs::exists(root_ / h / "zoneplane/node-1/podabc")) << h;
  }
  EXPECT_TRUE(fs::exists(root_ / "pids/zoneplane/node-1/poddef/pids.max"));
  EXPECT_TRUE(cg->release(pod("abc")));  // idempotent
}

// A process the runtime left in the pod's cgroup (a `runc init` never
// started) would keep it busy: release() kills it before removing the cgroup.
TEST_F(PodCgroupsTest, ReleaseKillsWhatTheRuntimeLeftInThePod) {
  layOutV1();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  ASSERT_TRUE(cg->prepare(pod("abc")));
  const pid_t left = ::fork();
  ASSERT_GE(left, 0);
  if (left == 0) {
    ::pause();
    ::_exit(0);
  }
  touch(root_ / "pids/zoneplane/node-1/podabc/c0ffee/cgroup.procs",
        std::to_string(left) + "\n");
  EXPECT_TRUE(cg->release(pod("abc")));
  ::kill(left, SIGTERM);  // ends it if release() did not (a zombie ignores it)
  int status = 0;
  ASSERT_EQ(::waitpid(left, &status, 0), left);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_FALSE(fs::exists(root_ / "pids/zoneplane/node-1/podabc"));
}

// A stopped container whose task the runtime kept (containerd 1.6 after a
// start a restart cut short): only that container's cgroup is emptied.
TEST_F(PodCgroupsTest, KillContainerEndsOnlyThatContainersProcesses) {
  layOutV1();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  ASSERT_TRUE(cg->prepare(pod("abc")));
  const auto child = [] {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    return pid;
  };
  const pid_t left = child();
  const pid_t other = child();
  ASSERT_GT(left, 0);
  ASSERT_GT(other, 0);
  touch(root_ / "pids/zoneplane/node-1/podabc/c0ffee/cgroup.procs", std::to_string(left) + "\n");
  touch(root_ / "pids/zoneplane/node-1/podabc/beef/cgroup.procs", std::to_string(other) + "\n");
  EXPECT_EQ(cg->killContainer(pod("abc"), "../podabc"), 0u);  // not a container id
  EXPECT_EQ(cg->killContainer(pod("abc"), "c0ffee"), 1u);
  int status = 0;
  ASSERT_EQ(::waitpid(left, &status, 0), left);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_EQ(::waitpid(other, &status, WNOHANG), 0);  // the other container's process lives
  EXPECT_EQ(cg->killContainer(pod("abc"), "0ddba11"), 0u);  // no such cgroup
  ::kill(other, SIGKILL);
  ASSERT_EQ(::waitpid(other, &status, 0), other);
}

TEST_F(PodCgroupsTest, PruneRemovesPodsWithoutASandboxAndNothingElse) {
  layOutV1();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  for (const char* uid : {"live", "dead1", "dead2"}) ASSERT_TRUE(cg->prepare(pod(uid)));
  fs::create_directories(root_ / "memory/zoneplane/node-1/poddead3");  // only the runtime's
  fs::create_directories(root_ / "pids/zoneplane/node-1/not-a-pod");
  fs::create_directories(root_ / "pids/zoneplane/node-2/poddead1");  // another node's
  ASSERT_TRUE(cg->pruneExcept({"live"}));
  EXPECT_TRUE(fs::exists(root_ / "pids/zoneplane/node-1/podlive"));
  for (const char* gone : {"pids/zoneplane/node-1/poddead1", "pids/zoneplane/node-1/poddead2",
                           "memory/zoneplane/node-1/poddead3"}) {
    EXPECT_FALSE(fs::exists(root_ / gone)) << gone;
  }
  EXPECT_TRUE(fs::exists(root_ / "pids/zoneplane/node-1/not-a-pod"));
  EXPECT_TRUE(fs::exists(root_ / "pids/zoneplane/node-2/poddead1"));
}

TEST_F(PodCgroupsTest, UnsafeUidsAreRefused) {
  layOutV1();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  for (const char* uid : {"", "../escape", "a/b", "UPPER"}) {
    EXPECT_FALSE(cg->prepare(pod(uid))) << uid;
    EXPECT_FALSE(cg->release(pod(uid))) << uid;
  }
  EXPECT_FALSE(fs::exists(root_ / "pids/zoneplane/escape"));
}

TEST_F(PodCgroupsTest, RemoveNodeCgroupsClearsTheNodeEverywhere) {
  layOutV1();
  auto cg = std::move(*CgroupfsPodCgroups::create("node-1", root_));
  ASSERT_TRUE(cg->prepare(pod("abc")));
  fs::create_directories(root_ / "memory/zoneplane/node-1/podabc/c0ffee");
  fs::create_directories(root_ / "memory/zoneplane/node-2/podxyz");
  ASSERT_TRUE(removeNodeCgroups("node-1", root_));
  EXPECT_FALSE(fs::exists(root_ / "pids/zoneplane/node-1"));
  EXPECT_FALSE(fs::exists(root_ / "memory/zoneplane/node-1"));
  EXPECT_TRUE(fs::exists(root_ / "memory/zoneplane/node-2/podxyz"));
}

}  // namespace
}  // namespace zp::agent
