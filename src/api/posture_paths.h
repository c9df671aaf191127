#pragma once
// The /proc and /sys paths of every workload's fixed posture
// (docs/architecture.md §5): what the agent asks the runtime to mask and to
// make read-only, and what zoneplane-probe checks from inside (§10.1).
// Header-only constants: the static probe binary uses them without linking
// any zoneplane library.

#include <string_view>

namespace zp::api {

// Hidden from every container (an empty file or tmpfs over them): the
// kubelet's defaults (kept in sync with Docker's), which containerd applies
// only when the CRI client sends them.
inline constexpr std::string_view kMaskedPaths[] = {"/proc/asound",
                                                    "/proc/acpi",
                                                    "/proc/kcore",
                                                    "/proc/keys",
                                                    "/proc/latency_stats",
                                                    "/proc/timer_list",
                                                    "/proc/timer_stats",
                                                    "/proc/sched_debug",
                                                    "/proc/scsi",
                                                    "/sys/firmware",
                                                    "/sys/devices/virtual/powercap"};
// Seen read-only by every container (the kubelet's defaults): writing them
// would reconfigure the host's kernel.
inline constexpr std::string_view kReadonlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq",
                                                      "/proc/sys", "/proc/sysrq-trigger"};

}  // namespace zp::api
