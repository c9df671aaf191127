#include "isolated_network.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>

#include "e2e_fixture.h"

namespace zp::faults {
namespace {

using testsupport::shellQuote;

// stdout of `command` (stderr discarded); nullopt when it fails.
std::optional<std::string> capture(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buf[1024];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return out;
}

// Whether any address or route of the host lies in or covers `subnet`
// (the default route aside).
bool subnetInUse(const std::string& subnet) {
  const auto addresses = capture("ip -o -4 addr show to " + subnet);
  const auto inside = capture("ip -4 route show root " + subnet);
  const auto covering = capture("ip -4 route show match " + subnet);
  if (!addresses || !inside || !covering) return true;
  if (!addresses->empty() || !inside->empty()) return true;
  std::istringstream lines(*covering);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && !line.starts_with("default")) return true;
  }
  return false;
}

bool lowerAlnum(const std::string& text) {
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool validTag(const std::string& tag) { return !tag.empty() && tag.size() <= 6 && lowerAlnum(tag); }

// An interface name as scripts/stack accepts for the bridge.
bool validScope(const std::string& scope) {
  return !scope.empty() && scope.size() <= 15 && scope[0] >= 'a' && scope[0] <= 'z' &&
         lowerAlnum(scope);
}

}  // namespace

std::string IsolatedNetwork::stackScope() {
  const char* bridge = std::getenv("ZONEPLANE_CNI_BRIDGE");
  return bridge != nullptr && *bridge != '\0' ? bridge : "zp0";
}

Result<std::unique_ptr<IsolatedNetwork>> IsolatedNetwork::create(const std::string& scope,
                                                                 const std::string& tag, int index,
                                                                 const std::filesystem::path& log) {
  if (!validScope(scope)) {
    return fail(Code::kInvalidArgument, "scope must be a bridge name ([a-z][a-z0-9]{0,14})",
                "scope");
  }
  if (!validTag(tag) || index < 0 || index > 9) {
    return fail(Code::kInvalidArgument, "tag must be 1-6 of [a-z0-9] and index 0-9", "tag");
  }
  std::unique_ptr<IsolatedNetwork> net(new IsolatedNetwork());
  net->log_ = log;
  const std::string name = tag + std::to_string(index);
  // The names scripts/lib/fault_networks.sh sweeps; keep them in step.
  net->netns_ = "zpfault-" + scope + "-" + name;
  net->host_if_ = "zfh" + name;  // at most 10 characters (IFNAMSIZ is 16)
  net->inner_if_ = "zfn" + name;

  // A /30 nobody uses: 10.200.X.(4 index)/30, X random.
  std::random_device seed;
  std::mt19937 random(seed());
  std::uniform_int_distribution<int> third(0, 255);
  for (int attempt = 0; attempt < 32 && net->subnet_.empty(); ++attempt) {
    const std::string prefix = "10.200." + std::to_string(third(random)) + ".";
    const std::string subnet = prefix + std::to_string(4 * index) + "/30";
    if (subnetInUse(subnet)) continue;
    net->subnet_ = subnet;
    net->host_address_ = prefix + std::to_string(4 * index + 1);
    net->inner_address_ = prefix + std::to_string(4 * index + 2);
  }
  if (net->subnet_.empty()) {
    return fail(Code::kResourceExhausted, "no free /30 in 10.200.0.0/16 for the test network");
  }

  const std::string ns = shellQuote(net->netns_);
  const std::string host = shellQuote(net->host_if_);
  const std::string inner = shellQuote(net->inner_if_);
  const std::string steps[] = {
      "ip netns add " + ns,
      "ip link add " + host + " type veth peer name " + inner + " netns " + ns,
      "ip addr add " + net->host_address_ + "/30 dev " + host,
      "ip -n " + ns + " addr add " + net->inner_address_ + "/30 dev " + inner,
      "ip -n " + ns + " link set lo up",
      "ip -n " + ns + " link set " + inner + " up",
      "ip link set " + host + " up",
  };
  for (const auto& step : steps) {
    if (auto s = net->run(step); !s) return fail(s.error());  // the destructor cleans up
  }
  // While the host end is down its connected route is gone: this one then
  // refuses the /30 instead of letting it follow the default route out.
  if (auto s = net->run("ip route add unreachable " + net->subnet_ + " metric 4242"); !s) {
    return fail(s.error());
  }
  net->route_added_ = true;
  return net;
}

IsolatedNetwork::~IsolatedNetwork() { remove(); }

void IsolatedNetwork::remove() {
  // Output discarded: the cleanup must not depend on the log's directory
  // still being there.
  const auto quietly = [](const std::string& command) {
    (void)std::system((command + " >/dev/null 2>&1").c_str());
  };
  if (route_added_) quietly("ip route del unreachable " + subnet_ + " metric 4242");
  route_added_ = false;
  if (netns_.empty()) return;
  // Deleting the namespace destroys its end of the pair, and with it the host end.
  quietly("ip netns del " + shellQuote(netns_));
  if (capture("ip link show " + shellQuote(host_if_)))
    quietly("ip link del " + shellQuote(host_if_));
  netns_.clear();
}

std::vector<std::string> IsolatedNetwork::launcher() const {
  return {"/usr/bin/nsenter", "--net=/run/netns/" + netns_, "--"};
}

Status IsolatedNetwork::partition() { return run("ip link set " + shellQuote(host_if_) + " down"); }

Status IsolatedNetwork::heal() { return run("ip link set " + shellQuote(host_if_) + " up"); }

Result<int> IsolatedNetwork::establishedOn(unsigned short port) {
  const auto out =
      capture("ip netns exec " + shellQuote(netns_) +
              " ss -Htn state established '( sport = :" + std::to_string(port) + " )'");
  if (!out) return fail(Code::kInternal, "ss in " + netns_ + " failed");
  int lines = 0;
  for (char c : *out) lines += c == '\n' ? 1 : 0;
  return lines;
}

Status IsolatedNetwork::run(const std::string& command) {
  const std::string line = command + " >>" + shellQuote(log_.string()) + " 2>&1";
  const int rc = std::system(line.c_str());
  if (rc != 0) {
    return fail(Code::kInternal, "`" + command + "` failed (" + std::to_string(rc) + "):\n" +
                                     testsupport::logTail(log_, 10));
  }
  return ok();
}

}  // namespace zp::faults
