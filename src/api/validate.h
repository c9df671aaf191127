#pragma once
// Validation of user-supplied values (docs/architecture.md §2). Pure functions; each error
// names the offending field and says what was expected.

#include <string_view>

#include "api/image_ref.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::api {

inline constexpr std::size_t kMaxIdLength = 63;
inline constexpr std::size_t kMaxListItems = 256;       // command / args entries
inline constexpr std::size_t kMaxEnvEntries = 256;
inline constexpr std::size_t kMaxStringBytes = 16 * 1024;  // one arg / env value
// Bytes of command, args, env names and env values together. With this bound
// every valid spec encodes to well under the agent protocol's 1 MiB line, even
// if every byte needs a six-byte JSON escape (checked by a unit test).
inline constexpr std::size_t kMaxPayloadBytes = 128 * 1024;

// The capabilities of the baseline profile: the runtime default set of
// containerd and Docker without NET_RAW. Baseline workloads get exactly these;
// restricted workloads get none, and may add back only NET_BIND_SERVICE.
inline constexpr std::string_view kBaselineCapabilities[] = {
    "AUDIT_WRITE", "CHOWN",  "DAC_OVERRIDE", "FOWNER", "FSETID",  "KILL",      "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"};

// DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool isDns1123Label(std::string_view s);
// An OCI image reference in the distribution grammar: [domain/]path[:tag][@digest].
Status validateImageReference(std::string_view image);
// Checks every field of a spec (id must be present; runtime_class may be empty,
// which means "let the scheduler pick").
Status validateWorkloadSpec(const WorkloadSpec& spec);
// The security object alone: pids_limit bounds, ids, and the capabilities the
// profile allows (restricted: NET_BIND_SERVICE only; baseline: the baseline set).
Status validateSecurity(const SecuritySpec& security);
bool isBaselineCapability(std::string_view name);
// Bytes of command, args and env (names and values) together.
std::size_t payloadBytes(const WorkloadSpec& spec);

}  // namespace zp::api
