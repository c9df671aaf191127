#pragma once
// Which user and group a workload's container runs as, decided once the image
// is known (after ImageStatus, before RunPodSandbox), and the node's pool of
// uids for `restricted` workloads whose image would run as root.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "agent/runtime.h"
#include "api/workload.h"
#include "common/status.h"

namespace zp::agent {

// The uids (and gids: the same numbers) the node hands out, [start, start+size).
struct UidRange {
  // Far above login users (1000..60000), nobody (65534), systemd's dynamic
  // users (61184..65519) and the subordinate ranges useradd gives rootless
  // containers (100000 upward, 65536 each); the same neighbourhood OpenShift
  // allocates project uids from.
  static constexpr std::int64_t kDefaultStart = 1'000'000'000;
  static constexpr std::int64_t kDefaultSize = 65'536;
  std::int64_t start = kDefaultStart;
  std::int64_t size = kDefaultSize;

  bool contains(std::int64_t id) const { return id >= start && id - start < size; }
  bool operator==(const UidRange&) const = default;
};
// start >= 1, size >= 1, start + size - 1 <= api::kMaxUserId. The error's
// field (and message) is `field_prefix` + "uid_range_start" or "uid_range_size".
Status validateUidRange(const UidRange& range, const std::string& field_prefix);

// The decision for one workload.
struct UserPlan {
  // What the container config carries; nullopt leaves it to the runtime (the
  // image's own user, or that user's group from the image's /etc/passwd).
  std::optional<std::int64_t> uid;
  std::optional<std::int64_t> gid;
  // restricted only: the node must allocate the uid (and the gid, unless `gid`
  // is set) from its range.
  bool allocate = false;
  std::string reason;  // why, for the log: "the spec's", "the image's", ...
  // Non-empty: the container cannot be run as decided (the workload fails
  // before anything is created); says why.
  std::string refusal;
};

// restricted (never uid or gid 0):
//   uid: the spec's run_as_user; else the image's user when it is numeric and
//        non-zero; else (a root image, or a user given by name, which cannot be
//        verified to be non-root without reading the image's /etc/passwd) one
//        the node allocates.
//   gid: the spec's run_as_group; else the allocated id; else the uid (the
//        CRI reports no image group; a user private group is the convention).
// baseline:
//   uid: the spec's; else the image's numeric user (0 for an image without a
//        user); else nullopt (a named user: the runtime resolves it).
//   gid: the spec's; else nullopt (the runtime takes the user's group from the
//        image).
UserPlan resolveUser(const api::SecuritySpec& security, const ImageFacts& image);

// The node's allocations, keyed by submission uid (WorkloadIdentity::uid).
// Every uid inside the range that a workload of the node runs as is recorded
// (allocated or not), so an allocation never hands out one in use: two
// workloads never share an allocated uid.
//
// Not thread-safe: the owner (WorkloadManager, under its mutex) serializes.
class UidAllocator {
 public:
  explicit UidAllocator(UidRange range) : range_(range) {}

  const UidRange& range() const { return range_; }
  // A free uid of the range for `key` (the same one again if `key` holds one).
  // kResourceExhausted when every uid of the range is in use.
  Result<std::int64_t> allocate(const std::string& key);
  // Records that `key` runs as `id` (a workload recovered after a restart, or
  // a uid the spec or image chose). No-op for ids outside the range.
  void reserve(const std::string& key, std::int64_t id);
  // Like reserve() for a uid a new workload's spec or image asks for: a uid of
  // the range that another key holds is refused (kAlreadyExists), so two
  // workloads never share a node-managed uid.
  Status claim(const std::string& key, std::int64_t id);
  void release(const std::string& key);
  std::size_t inUse() const { return by_key_.size(); }

 private:
  UidRange range_;
  std::map<std::string, std::int64_t> by_key_;
  std::map<std::int64_t, int> holders_;  // id -> number of keys holding it
  std::int64_t next_ = 0;                // offset where the next search starts
};

}  // namespace zp::agent
