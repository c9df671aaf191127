#pragma once
// IsolatedNetwork: a network namespace of its own joined to the host by a
// veth pair, for a fault scenario that partitions one agent from the server.
// Everything stays on this machine: the pair gets a /30 of 10.200.0.0/16 (the
// host end .1, the namespace end .2) that the suite picks per run after
// checking no address or route of the host uses it, and an `unreachable`
// route of low priority for the same /30, so while the host end is down
// nothing for those addresses leaves through another interface.
//
// Owns the namespace, the pair and the route: the destructor removes them
// (also after a failed assertion). A run killed with SIGKILL leaves them:
// scripts/faults sweeps them at its start (scripts/lib/fault_networks.sh),
// which is why the namespace's name carries the stack's CNI bridge
// (zpfault-<bridge>-<tag><index>): a sweep removes only its own stack's.
// Names carry the caller's tag, unique per run. Runs `ip` (iproute2) as
// root; every command's output goes to `log`. Not thread-safe; used from the
// test's thread.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace zp::faults {

class IsolatedNetwork {
 public:
  // `tag`: up to 6 lowercase letters or digits, unique per run (the test's
  // suffix); `index` 0…9 tells a run's networks apart (and picks the /30).
  // `scope`: the stack's CNI bridge (stackScope()), named in the namespace.
  static Result<std::unique_ptr<IsolatedNetwork>> create(const std::string& scope,
                                                         const std::string& tag, int index,
                                                         const std::filesystem::path& log);
  // The stack's CNI bridge: $ZONEPLANE_CNI_BRIDGE, else scripts/stack's default.
  static std::string stackScope();
  IsolatedNetwork(const IsolatedNetwork&) = delete;
  IsolatedNetwork& operator=(const IsolatedNetwork&) = delete;
  ~IsolatedNetwork();

  // The address inside the namespace (what a daemon there listens on).
  const std::string& innerAddress() const { return inner_address_; }
  const std::string& hostAddress() const { return host_address_; }
  const std::string& name() const { return netns_; }
  // argv prefix that runs a program in the namespace: only the network
  // namespace changes (nsenter --net), so the program sees the host's mounts,
  // containerd's socket and the cgroup tree as they are. (`ip netns exec`
  // would also mount a fresh /sys, hiding /sys/fs/cgroup.)
  std::vector<std::string> launcher() const;

  // The partition: the host end of the pair down (its routes go with it, the
  // `unreachable` route answers instead). heal() brings it up again.
  Status partition();
  Status heal();

  // TCP connections in the namespace, established, whose local port is
  // `port` (a daemon's accepted connections); from `ss`.
  Result<int> establishedOn(unsigned short port);

 private:
  IsolatedNetwork() = default;
  Status run(const std::string& command);
  void remove();

  std::filesystem::path log_;
  std::string netns_, host_if_, inner_if_;
  std::string subnet_;  // "10.200.X.Y/30"
  std::string host_address_, inner_address_;
  bool route_added_ = false;
};

}  // namespace zp::faults
