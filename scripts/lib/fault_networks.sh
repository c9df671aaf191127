# shellcheck shell=bash
# The network namespaces, veth pairs and routes the fault suite's partition
# scenario creates (tests/faults/isolated_network.h), and the sweep of those a
# killed run left behind. Source it after common.sh; it defines functions only
# and changes no shell options. Needs root and iproute2.
#
# Names (keep in step with isolated_network.cc):
#   namespace  zpfault-<BRIDGE>-<SUFFIX>   BRIDGE: the stack's CNI bridge
#   veth pair  zfh<SUFFIX> (host end), zfn<SUFFIX> (in the namespace)
#   route      unreachable 10.200.X.Y/30 metric 4242, beside the host end's /30
#
# Scope: every stack has a CNI bridge of its own (two stacks on one bridge
# would share their pods' network too) and runs one fault suite at a time,
# so a namespace carrying this stack's bridge is a leftover of a dead run of
# this stack, never a live suite's of another stack. Interface names cannot carry the bridge (15
# characters at most): a host end is removed only as the peer of a swept
# namespace. A route is removed only when no address of the host lies in its
# /30: a live suite adds the address before the route and removes the route
# first, so that holds for leftovers alone, whichever stack left them.

FAULT_NETNS_PREFIX=zpfault-
FAULT_ROUTE_METRIC=4242

# sweep_fault_networks BRIDGE
# Removes every namespace named zpfault-BRIDGE-*: ends the processes still in
# it (agents of the dead run: SIGKILL), deletes it and the host end of its
# pair; then every orphaned unreachable route of the suite. Prints what it
# removed; returns 1 when something could not be removed.
sweep_fault_networks() {
  local bridge=$1
  [[ $bridge =~ ^[a-z][a-z0-9]{0,14}$ ]] || {
    warn "sweep_fault_networks: '$bridge' is not a bridge name"
    return 1
  }
  local prefix="${FAULT_NETNS_PREFIX}${bridge}-" ns suffix pids host rc=0
  local -a swept=()
  while read -r ns _; do
    [[ $ns == "$prefix"* ]] || continue
    suffix=${ns#"$prefix"}
    [[ $suffix =~ ^[a-z0-9]{1,12}$ ]] || continue
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || pids=
    if [[ -n ${pids// /} ]]; then
      info "sweep: ending the processes left in network namespace $ns: $pids"
      # shellcheck disable=SC2086 # a list of pids
      kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || {
      warn "sweep: cannot delete network namespace $ns"
      rc=1
    }
    swept+=("$ns")
    host="zfh$suffix"
    # The namespace's end goes with it once its last process is gone, and the
    # host end with that; a namespace held a moment longer is not waited for.
    if ip link show "$host" >/dev/null 2>&1; then
      ip link del "$host" 2>/dev/null || {
        ip link show "$host" >/dev/null 2>&1 && {
          warn "sweep: cannot delete interface $host"
          rc=1
        }
      }
    fi
  done < <(ip netns list 2>/dev/null)

  local line subnet
  local -a routes=()
  while read -r line; do
    [[ $line =~ ^unreachable\ (10\.200\.[0-9]+\.[0-9]+/30)\ .*metric\ ${FAULT_ROUTE_METRIC}( |$) ]] ||
      continue
    subnet=${BASH_REMATCH[1]}
    [[ -z $(ip -o -4 addr show to "$subnet" 2>/dev/null) ]] || continue
    if ip route del unreachable "$subnet" metric "$FAULT_ROUTE_METRIC" 2>/dev/null; then
      routes+=("$subnet")
    else
      warn "sweep: cannot delete route unreachable $subnet"
      rc=1
    fi
  done < <(ip -4 route show type unreachable 2>/dev/null)

  if ((${#swept[@]} + ${#routes[@]})); then
    info "sweep: removed leftovers of a killed fault run: ${swept[*]} ${routes[*]}"
  fi
  return "$rc"
}
