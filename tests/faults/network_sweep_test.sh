#!/usr/bin/env bash
# The sweep of a killed fault run's networks (scripts/lib/fault_networks.sh):
# builds by hand what a SIGKILLed partition scenario leaves (a namespace of
# this "stack" with its veth pair and a process still inside, an unreachable
# route of the suite without its address), next to what must survive (another
# stack's namespace and pair, a namespace without the prefix, a route of the
# suite's form whose address is in use), sweeps, and checks. Every name
# carries this run's pid, so nothing of a real stack is touched; whatever the
# outcome, everything made here is removed on exit.
#
# Run as root: scripts/faults network-sweep (or directly). Exit 77 (skipped)
# when not root or without iproute2.
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$(dirname "$SCRIPT_DIR")")
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lib/common.sh
source "$REPO_DIR/scripts/lib/common.sh"
# shellcheck source=scripts/lib/fault_networks.sh
source "$REPO_DIR/scripts/lib/fault_networks.sh"

if ((EUID != 0)) || ! command -v ip >/dev/null; then
  echo "network_sweep_test: skipped (needs root and iproute2)" >&2
  exit 77
fi

id=$(($$ % 100000))
mine="zpsw${id}"  # this "stack"'s bridge name
other="zpso${id}" # another stack's
ns_left="zpfault-${mine}-a${id}"
ns_other="zpfault-${other}-b${id}"
ns_plain="zpkeep${id}"
# Two /30s of the suite's range that no address or route of the host uses.
free_subnets=()
for third in $(shuf -i 0-255 -n 64); do
  subnet="10.200.$third.248/30"
  [[ -z $(ip -o -4 addr show to "$subnet") && -z $(ip -4 route show root "$subnet") ]] || continue
  free_subnets+=("$third")
  ((${#free_subnets[@]} < 2)) || break
done
((${#free_subnets[@]} == 2)) || die "no free /30 in 10.200.0.0/16 for the test"
orphan="10.200.${free_subnets[0]}.248/30"
held="10.200.${free_subnets[1]}.248/30"
held_address="10.200.${free_subnets[1]}.249/30"
sleeper=

cleanup() {
  local rc=$?
  [[ -z $sleeper ]] || kill -KILL "$sleeper" 2>/dev/null || true
  for ns in "$ns_left" "$ns_other" "$ns_plain"; do ip netns del "$ns" 2>/dev/null || true; done
  for link in "zfha${id}" "zfhb${id}" "zfhc${id}"; do ip link del "$link" 2>/dev/null || true; done
  for subnet in "$orphan" "$held"; do
    ip route del unreachable "$subnet" metric 4242 2>/dev/null || true
  done
  exit "$rc"
}
trap cleanup EXIT

# pair NAMESPACE SUFFIX: a namespace and a veth pair zfh<SUFFIX>/zfn<SUFFIX>
# into it, as IsolatedNetwork makes them.
pair() {
  ip netns add "$1"
  ip link add "zfh$2" type veth peer name "zfn$2" netns "$1"
  ip -n "$1" link set lo up
}
pair "$ns_left" "a${id}"
pair "$ns_other" "b${id}"
pair "$ns_plain" "c${id}"
# A process left inside, as a partitioned agent of the dead run would be.
ip netns exec "$ns_left" sleep 600 &
sleeper=$!
has_pids() { [[ -n $(ip netns pids "$1" 2>/dev/null) ]]; }
wait_for 5 "the sleeper in $ns_left" has_pids "$ns_left"
ip route add unreachable "$orphan" metric 4242
ip addr add "$held_address" dev "zfhc${id}"
ip route add unreachable "$held" metric 4242

sweep_fault_networks "$mine"

has_ns() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
has_link() { ip link show "$1" >/dev/null 2>&1; }
has_route() { [[ -n $(ip -4 route show type unreachable root "$1") ]]; }
failures=0
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
not() { ! "$@"; }
# Ended: gone, or a zombie this shell has not reaped yet.
ended() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [[ $state == Z ]]
}

check "the leftover namespace is gone" not has_ns "$ns_left"
check "its process was ended" wait_for 5 "the sleeper to end" ended "$sleeper"
check "its veth pair is gone" wait_for 5 "zfha${id} to go" not has_link "zfha${id}"
check "the orphaned route is gone" not has_route "$orphan"
check "another stack's namespace stays" has_ns "$ns_other"
check "another stack's veth pair stays" has_link "zfhb${id}"
check "a namespace without the prefix stays" has_ns "$ns_plain"
check "its veth pair stays" has_link "zfhc${id}"
check "a route whose address is in use stays" has_route "$held"
check "a bad bridge name is refused" not sweep_fault_networks "Bad-Name"
((failures == 0)) || die "$failures check(s) failed"
echo "network_sweep_test: passed"
