#pragma once
// Validation of user-supplied values (DESIGN.md §2). Pure functions; each error
// names the offending field and says what was expected.

#include <string_view>

#include "api/workload.h"
#include "common/status.h"

namespace zp::api {

inline constexpr std::size_t kMaxIdLength = 63;
inline constexpr std::size_t kMaxImageNameLength = 255;
inline constexpr std::size_t kMaxListItems = 256;       // command / args entries
inline constexpr std::size_t kMaxEnvEntries = 256;
inline constexpr std::size_t kMaxStringBytes = 16 * 1024;  // one arg / env value

// DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool isDns1123Label(std::string_view s);
// An OCI image reference in the distribution grammar: [domain/]path[:tag][@digest].
Status validateImageReference(std::string_view image);
// Checks every field of a complete spec (id must be present).
Status validateWorkloadSpec(const WorkloadSpec& spec);

}  // namespace zp::api
