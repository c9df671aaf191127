// /proc/self/mountinfo and cgroup parsing against recorded text.

#include <gtest/gtest.h>

#include "probe/parse.h"
#include "test_data.h"

namespace zp::probe {
namespace {

using testing::testData;

const MountInfoEntry* at(const std::vector<MountInfoEntry>& mounts, std::string_view point) {
  const MountInfoEntry* found = nullptr;
  for (const auto& m : mounts) {
    if (m.mount_point == point) found = &m;
  }
  return found;
}

TEST(ParseMountInfo, RuncContainerMasksAndReadOnlyMounts) {
  auto mounts = parseMountInfo(testData("runc.mountinfo"), 4096);
  ASSERT_EQ(mounts.size(), 16u);
  EXPECT_EQ(mounts[0].mount_point, "/");
  EXPECT_EQ(mounts[0].fs_type, "overlay");
  EXPECT_EQ(mounts[0].source, "overlay");
  EXPECT_TRUE(mounts[0].super_options.find("lowerdir=") != std::string::npos);

  const MountInfoEntry* sys = at(mounts, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_TRUE(hasMountOption(sys->mount_options, "ro"));
  const MountInfoEntry* proc_sys = at(mounts, "/proc/sys");
  ASSERT_NE(proc_sys, nullptr);
  EXPECT_EQ(proc_sys->root, "/sys");  // a read-only bind of /proc's sys directory
  EXPECT_TRUE(hasMountOption(proc_sys->mount_options, "ro"));
  // Masks: /dev/null bound over files, an empty read-only tmpfs over directories.
  EXPECT_EQ(at(mounts, "/proc/keys")->root, "/null");
  EXPECT_EQ(at(mounts, "/proc/acpi")->fs_type, "tmpfs");
  EXPECT_EQ(at(mounts, "/sys/firmware")->fs_type, "tmpfs");
}

TEST(ParseMountInfo, HostTableWithOptionalFields) {
  auto mounts = parseMountInfo(testData("host.mountinfo"), 4096);
  ASSERT_EQ(mounts.size(), 20u);
  const MountInfoEntry* netns = at(mounts, "/run/netns");
  ASSERT_NE(netns, nullptr);  // "shared:1" sits between the options and "-"
  EXPECT_EQ(netns->fs_type, "ext4");
  EXPECT_EQ(netns->source, "/dev/vda");
  EXPECT_EQ(netns->root, "/run/netns");
  const MountInfoEntry* memory = at(mounts, "/sys/fs/cgroup/memory");
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->fs_type, "cgroup");
  EXPECT_TRUE(hasMountOption(memory->super_options, "memory"));
  EXPECT_FALSE(hasMountOption(at(mounts, "/proc")->mount_options, "ro"));
}

TEST(ParseMountInfo, GvisorTableWithEmptyOptionalFields) {
  auto mounts = parseMountInfo(testData("runsc.mountinfo"), 4096);
  ASSERT_EQ(mounts.size(), 5u);
  EXPECT_EQ(mounts[0].mount_point, "/");
  EXPECT_EQ(mounts[0].fs_type, "overlay");
  EXPECT_EQ(mounts[3].mount_point, "/proc");
  EXPECT_EQ(mounts[3].super_options, "rw,dentry_cache_limit=1000");
}

TEST(ParseMountInfo, UnescapesOctalEscapes) {
  auto mounts = parseMountInfo(testData("escaped.mountinfo"), 4096);
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].mount_point, "/tmp/pexp/mnt dir/tab\tx");
  EXPECT_EQ(mounts[0].source, "zp-probe-rec");
  EXPECT_EQ(unescapeMountField("a\\134b"), "a\\b");
  EXPECT_EQ(unescapeMountField("new\\012line"), "new\nline");
  // Not an escape: kept as is.
  EXPECT_EQ(unescapeMountField("a\\9bc"), "a\\9bc");
  EXPECT_EQ(unescapeMountField("end\\04"), "end\\04");
  EXPECT_EQ(unescapeMountField("\\777"), "\\777");  // above 0xFF
}

TEST(ParseMountInfo, BoundedAndTolerant) {
  std::string text;
  for (int i = 0; i < 10; ++i) {
    text += std::to_string(i) + " 1 0:1 / /m" + std::to_string(i) + " rw - tmpfs t rw\n";
  }
  text += "garbage line\n1 2 3 4 5 6 7 8\n1 1 0:1 / /no-dash rw x y z\n";
  std::size_t skipped = 0;
  auto mounts = parseMountInfo(text, 4, &skipped);
  EXPECT_EQ(mounts.size(), 4u);
  EXPECT_EQ(skipped, 6u);
  EXPECT_EQ(parseMountInfo(text, 100).size(), 10u);
  EXPECT_TRUE(parseMountInfo("", 100).empty());
}

TEST(MountContaining, LongestMountPointWinsAndLaterCoversEarlier) {
  auto mounts = parseMountInfo(testData("runc.mountinfo"), 4096);
  EXPECT_EQ(mountContaining(mounts, "/proc/sys")->mount_point, "/proc/sys");
  EXPECT_EQ(mountContaining(mounts, "/proc/sys/kernel/hostname")->mount_point, "/proc/sys");
  EXPECT_EQ(mountContaining(mounts, "/proc/sysrq-trigger")->mount_point, "/proc");
  EXPECT_EQ(mountContaining(mounts, "/etc/passwd")->mount_point, "/");
  auto stacked = parseMountInfo(
      "1 0 0:1 / / rw - ext4 a rw\n2 1 0:2 / /sys rw - sysfs s rw\n3 1 0:3 / /sys ro - sysfs s "
      "ro\n",
      10);
  EXPECT_EQ(mountContaining(stacked, "/sys/kernel")->mount_options, "ro");
  EXPECT_EQ(mountContaining({}, "/sys"), nullptr);
}

TEST(HasMountOption, MatchesWholeOptionsOnly) {
  EXPECT_TRUE(hasMountOption("ro,nosuid", "ro"));
  EXPECT_TRUE(hasMountOption("nosuid,ro", "ro"));
  EXPECT_FALSE(hasMountOption("rw,errors=remount-ro", "ro"));
  EXPECT_FALSE(hasMountOption("", "ro"));
}

TEST(ParseProcCgroup, HostIsV1WithAnEmptyUnifiedHierarchy) {
  auto lines = parseProcCgroup(testData("host.cgroup"));
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(cgroupVersion(lines), 1);
  EXPECT_EQ(lines[5].controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(lines[5].path, "/process_api/231a20a87961bc2029837446e51f5743");
  EXPECT_EQ(lines[9].hierarchy_id, "0");
  EXPECT_TRUE(lines[9].controllers.empty());
}

TEST(ParseProcCgroup, RuncContainerPathsAndVersions) {
  auto lines = parseProcCgroup(testData("runc.cgroup"));
  EXPECT_EQ(cgroupVersion(lines), 1);
  EXPECT_EQ(lines.back().path, "/zp-probe-rec/zp-probe-rec-cgroup");
  EXPECT_EQ(cgroupVersion(parseProcCgroup("0::/kubepods/pod1/ctr\n")), 2);
  EXPECT_EQ(cgroupVersion(parseProcCgroup("1:name=systemd:/\n0::/x\n")), 2);
  EXPECT_EQ(cgroupVersion(parseProcCgroup("")), 0);  // gVisor without cgroupfs
  EXPECT_EQ(parseProcCgroup("4:cpu,cpuacct:/a:b\n")[0].path, "/a:b");
  EXPECT_EQ(parseProcCgroup("4:cpu,cpuacct:/a\n")[0].controllers,
            (std::vector<std::string>{"cpu", "cpuacct"}));
}

TEST(CgroupDirectory, RelativeToTheMountRoot) {
  // A namespaced or whole-hierarchy mount: the path below the mount point.
  EXPECT_EQ(cgroupDirectory("/sys/fs/cgroup", "/", "/"), "/sys/fs/cgroup");
  EXPECT_EQ(cgroupDirectory("/sys/fs/cgroup/memory", "/", "/kubepods/p/c"),
            "/sys/fs/cgroup/memory/kubepods/p/c");
  // runc mounts the container's own cgroup (root = its path) in v1.
  EXPECT_EQ(cgroupDirectory("/sys/fs/cgroup/memory", "/kubepods/p/c", "/kubepods/p/c"),
            "/sys/fs/cgroup/memory");
  EXPECT_EQ(cgroupDirectory("/sys/fs/cgroup/memory", "/kubepods/p", "/kubepods/p/c"),
            "/sys/fs/cgroup/memory/c");
  // A path outside the mounted root: the mount point itself.
  EXPECT_EQ(cgroupDirectory("/sys/fs/cgroup", "/kubepods/p/c", "/other"), "/sys/fs/cgroup");
  EXPECT_EQ(cgroupDirectory("/sys/fs/cgroup", "/kube", "/kubepods"), "/sys/fs/cgroup");
}

TEST(CgroupDirectory, RecordedRuncContainerWithItsCgroupMounted) {
  // runc with a cgroup mount (as the CRI asks for), 64 MiB memory limit.
  auto mounts = parseMountInfo(testData("runc-limits.mountinfo"), 4096);
  auto lines = parseProcCgroup(testData("runc-limits.cgroup"));
  EXPECT_EQ(cgroupVersion(lines), 1);
  const MountInfoEntry* memory = nullptr;
  for (const auto& m : mounts) {
    if (m.fs_type == "cgroup" && hasMountOption(m.super_options, "memory")) memory = &m;
  }
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->root, "/zp-probe-rec/zp-probe-rec-mi");
  EXPECT_TRUE(hasMountOption(memory->mount_options, "ro"));
  std::string path;
  for (const auto& l : lines) {
    if (l.controllers == std::vector<std::string>{"memory"}) path = l.path;
  }
  EXPECT_EQ(cgroupDirectory(memory->mount_point, memory->root, path), "/sys/fs/cgroup/memory");
}

TEST(CgroupLimits, Normalised) {
  EXPECT_EQ(normalizeMemoryLimitV1("9223372036854771712\n"), "max");
  EXPECT_EQ(normalizeMemoryLimitV1("67108864\n"), "67108864");
  EXPECT_FALSE(normalizeMemoryLimitV1("lots").has_value());
  EXPECT_EQ(normalizeMaxOrNumber("max\n"), "max");
  EXPECT_EQ(normalizeMaxOrNumber("64\n"), "64");
  EXPECT_FALSE(normalizeMaxOrNumber("-1").has_value());
  EXPECT_EQ(normalizeCpuMaxV2("max 100000\n"), "max 100000");
  EXPECT_EQ(normalizeCpuMaxV2("10000 100000\n"), "10000 100000");
  EXPECT_FALSE(normalizeCpuMaxV2("10000").has_value());
  EXPECT_FALSE(normalizeCpuMaxV2("10000 0").has_value());
  EXPECT_EQ(normalizeCpuV1("-1\n", "100000\n"), "max 100000");
  EXPECT_EQ(normalizeCpuV1("10000\n", "100000\n"), "10000 100000");
  EXPECT_FALSE(normalizeCpuV1("x", "100000").has_value());
}

}  // namespace
}  // namespace zp::probe
