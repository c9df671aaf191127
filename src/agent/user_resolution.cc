#include "agent/user_resolution.h"

namespace zp::agent {

Status validateUidRange(const UidRange& range, const std::string& field_prefix) {
  if (range.start < 1 || range.start > api::kMaxUserId) {
    return fail(Code::kInvalidArgument,
                field_prefix + "uid_range_start must be between 1 and " +
                    std::to_string(api::kMaxUserId) + " (uid 0 is root), got " +
                    std::to_string(range.start),
                field_prefix + "uid_range_start");
  }
  if (range.size < 1 || range.size > api::kMaxUserId - range.start + 1) {
    return fail(Code::kInvalidArgument,
                field_prefix + "uid_range_size must be between 1 and " +
                    std::to_string(api::kMaxUserId - range.start + 1) +
                    " (the range must end at or below " + std::to_string(api::kMaxUserId) +
                    "), got " + std::to_string(range.size),
                field_prefix + "uid_range_size");
  }
  return ok();
}

UserPlan resolveUser(const api::SecuritySpec& security, const ImageFacts& image) {
  // The image's user: numeric (uid), a name, or none at all, which is root.
  const bool image_named = !image.uid && !image.username.empty();
  const std::optional<std::int64_t> image_uid =
      image.uid ? image.uid : (image_named ? std::nullopt : std::optional<std::int64_t>(0));
  // A uid past what a workload may use would be written on the sandbox in a
  // label no restarted agent accepts (and break programs): never used.
  const bool image_uid_usable = image_uid && *image_uid >= 0 && *image_uid <= api::kMaxUserId;

  UserPlan plan;
  if (security.profile == api::Profile::kBaseline) {
    if (!security.run_as_user && image_uid && !image_uid_usable) {
      plan.refusal = "the image's user " + std::to_string(*image_uid) + " is outside 0.." +
                     std::to_string(api::kMaxUserId) + "; set security.run_as_user";
      return plan;
    }
    if (security.run_as_user) {
      plan.uid = security.run_as_user;
      plan.reason = "the spec's run_as_user";
    } else if (image_uid) {
      plan.uid = image_uid;
      plan.reason = *image_uid == 0 ? "the image's (root)" : "the image's user";
    } else {
      plan.reason = "the image's user \"" + image.username + "\", resolved by the runtime";
    }
    plan.gid = security.run_as_group;
    return plan;
  }

  if (security.run_as_user) {
    plan.uid = security.run_as_user;
    plan.reason = "the spec's run_as_user";
  } else if (image_uid_usable && *image_uid > 0) {
    plan.uid = image_uid;
    plan.reason = "the image's user";
  } else {
    plan.allocate = true;
    plan.reason = image_named ? "allocated by the node: the image's user \"" + image.username +
                                    "\" is a name that cannot be verified to be non-root"
                  : image_uid && *image_uid != 0
                      ? "allocated by the node: the image's user " + std::to_string(*image_uid) +
                            " is out of range"
                      : "allocated by the node: the image runs as root";
  }
  if (security.run_as_group) {
    plan.gid = security.run_as_group;
  } else if (!plan.allocate) {
    plan.gid = plan.uid;
  }
  return plan;
}

Result<std::int64_t> UidAllocator::allocate(const std::string& key) {
  if (const auto it = by_key_.find(key); it != by_key_.end()) return it->second;
  for (std::int64_t i = 0; i < range_.size; ++i) {
    const std::int64_t id = range_.start + (next_ + i) % range_.size;
    if (holders_.contains(id)) continue;
    next_ = (id - range_.start + 1) % range_.size;
    by_key_[key] = id;
    holders_[id] = 1;
    return id;
  }
  return fail(Code::kResourceExhausted,
              "every uid of the node's range " + std::to_string(range_.start) + ".." +
                  std::to_string(range_.start + range_.size - 1) +
                  " is in use; remove workloads or widen [security] uid_range_size");
}

void UidAllocator::reserve(const std::string& key, std::int64_t id) {
  if (!range_.contains(id)) return;
  release(key);
  by_key_[key] = id;
  ++holders_[id];
}

Status UidAllocator::claim(const std::string& key, std::int64_t id) {
  if (!range_.contains(id)) return ok();
  const auto mine = by_key_.find(key);
  const bool held_by_me = mine != by_key_.end() && mine->second == id;
  if (!held_by_me && holders_.contains(id)) {
    return fail(Code::kAlreadyExists,
                "uid " + std::to_string(id) + " is in the node's uid range (" +
                    std::to_string(range_.start) + ".." +
                    std::to_string(range_.start + range_.size - 1) +
                    ") and already runs another workload; choose a uid outside that range");
  }
  reserve(key, id);
  return ok();
}

void UidAllocator::release(const std::string& key) {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  if (const auto h = holders_.find(it->second); h != holders_.end() && --h->second <= 0) {
    holders_.erase(h);
  }
  by_key_.erase(it);
}

}  // namespace zp::agent
