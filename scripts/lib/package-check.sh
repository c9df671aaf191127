#!/usr/bin/env bash
# Runs inside the fresh Debian 12 chroot that scripts/package makes, as root,
# with the package at $1: installs it from the file with apt (its Depends
# come from the mirror), then checks what it installed and that it works.
# Exits non-zero at the first failed check, saying which.
set -euo pipefail

DEB=$1
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root
step() { printf '[package-check] %s\n' "$*" >&2; }
fail() {
  printf '[package-check] FAILED: %s\n' "$*" >&2
  exit 1
}
VERSION=$(dpkg-deb --field "$DEB" Version)

step "apt-get install $DEB"
apt-get install -y --no-install-recommends "$DEB" >/tmp/apt.log 2>&1 || {
  cat /tmp/apt.log >&2
  fail "apt-get install"
}
dpkg-query -W -f='${Status}\n' zoneplane | grep -qx 'install ok installed' || fail "not installed"

step "--version of every program"
for program in /usr/bin/zoneplane /usr/bin/zoneplane-server /usr/bin/zoneplane-agent \
  /usr/libexec/zoneplane/zoneplane-probe; do
  out=$("$program" --version) || fail "$program --version exited $?"
  first=${out%%$'\n'*}
  [[ $first == "${program##*/} $VERSION" ]] || fail "$program --version printed '$first'"
  printf '  %s\n' "${out//$'\n'/, }" >&2
done

step "--help with EXAMPLES"
for command in "zoneplane" "zoneplane run" "zoneplane nodes drain" "zoneplane completion" \
  "zoneplane-server" "zoneplane-agent"; do
  # shellcheck disable=SC2086 # the command is words on purpose
  help=$($command --help) || fail "$command --help exited $?"
  grep -q '^EXAMPLES:' <<<"$help" || fail "$command --help has no EXAMPLES section"
done

step "files"
for file in /usr/bin/zoneplane /usr/bin/zoneplane-server /usr/bin/zoneplane-agent \
  /usr/libexec/zoneplane/zoneplane-probe \
  /etc/zoneplane/server.toml /etc/zoneplane/agent.toml \
  /lib/systemd/system/zoneplane-server.service /lib/systemd/system/zoneplane-agent.service \
  /usr/share/bash-completion/completions/zoneplane /usr/share/zsh/vendor-completions/_zoneplane \
  /usr/share/doc/zoneplane/README.md /usr/share/doc/zoneplane/architecture.md; do
  [[ -f $file ]] || fail "$file is missing"
  dpkg -S "$file" >/dev/null 2>&1 || fail "$file does not belong to the package (dpkg -S)"
done
if dpkg -L zoneplane | grep -Eq '(_test|_bench|fuzz_)[^/]*$'; then
  fail "a test, benchmark or fuzz program was installed: $(dpkg -L zoneplane | grep -E '(_test|_bench|fuzz_)')"
fi
conffiles=$(dpkg-query -W -f='${Conffiles}\n' zoneplane)
for file in /etc/zoneplane/server.toml /etc/zoneplane/agent.toml; do
  grep -q "^ $file " <<<"$conffiles" || fail "$file is not a conffile"
done
dpkg -L zoneplane | sed 's/^/  /' >&2

step "completion scripts"
zoneplane completion bash | cmp -s - /usr/share/bash-completion/completions/zoneplane ||
  fail "the installed bash completion differs from \`zoneplane completion bash\`"
bash -n /usr/share/bash-completion/completions/zoneplane || fail "bash completion: syntax"
reply=$(bash -c 'source /usr/share/bash-completion/completions/zoneplane
  COMP_WORDS=(zoneplane nodes dr); COMP_CWORD=2; _zoneplane; echo "${COMPREPLY[*]}"')
[[ $reply == drain ]] || fail "bash completion of 'zoneplane nodes dr' gave '$reply'"

step "the zoneplane user and its state directory"
getent passwd zoneplane >/dev/null || fail "no zoneplane user"
[[ $(stat -c '%U %a' /var/lib/zoneplane/server) == "zoneplane 700" ]] ||
  fail "/var/lib/zoneplane/server is $(stat -c '%U %a' /var/lib/zoneplane/server)"

step "zoneplane-server serves as zoneplane (packaged server.toml, listen 127.0.0.1:0)"
as_zoneplane() { setpriv --reuid=zoneplane --regid=zoneplane --init-groups "$@"; }
as_zoneplane zoneplane-server ca init >/dev/null || fail "ca init"
as_zoneplane zoneplane-server certs issue --server >/dev/null || fail "certs issue --server"
token=$(as_zoneplane zoneplane-server tokens create --name admin --role admin 2>/dev/null | head -n1)
[[ -n $token ]] || fail "tokens create printed no token"
# setpriv itself, not the function: $! must be the server's pid (setpriv execs it).
# The files exist before it starts: the background job opens them on its own
# time, and reading a missing one below would end this script.
: >/tmp/server.out
: >/tmp/server.err
setpriv --reuid=zoneplane --regid=zoneplane --init-groups \
  zoneplane-server --config /etc/zoneplane/server.toml --listen 127.0.0.1:0 \
  >/tmp/server.out 2>/tmp/server.err &
server=$!
# A failed check below must not leave the server running in the chroot
# (its mounts could not be taken down).
trap 'kill -KILL "$server" 2>/dev/null || true' EXIT
address=
for _ in $(seq 100); do
  address=$(sed -n 's/^zoneplane-server listening on //p' /tmp/server.out)
  [[ -z $address ]] || break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
[[ -n $address ]] || {
  cat /tmp/server.err >&2
  fail "zoneplane-server did not start"
}
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$server/status")
[[ $uid == "$(id -u zoneplane)" ]] || fail "zoneplane-server runs as uid $uid"
cli=(zoneplane --server "https://$address" --ca-cert /var/lib/zoneplane/server/pki/ca.crt --token "$token")
"${cli[@]}" trust-levels >/dev/null || fail "zoneplane trust-levels against the server"
"${cli[@]}" nodes | grep -q '^node-1 ' || fail "zoneplane nodes does not list server.toml's node-1"
kill -TERM "$server"
wait "$server" || fail "zoneplane-server exited $? after SIGTERM"
trap - EXIT
[[ $(stat -c %U /var/lib/zoneplane/server/zoneplane.db) == zoneplane ]] || fail "database owner"
step "  served on $address as uid $uid; stopped cleanly"

step "systemd-analyze verify (systemd installed for it)"
apt-get install -y --no-install-recommends systemd >/tmp/apt-systemd.log 2>&1 || {
  cat /tmp/apt-systemd.log >&2
  fail "apt-get install systemd"
}
systemd-analyze verify zoneplane-server.service zoneplane-agent.service ||
  fail "systemd-analyze verify"
for unit in zoneplane-server zoneplane-agent; do
  systemd-analyze security --offline=true "/lib/systemd/system/$unit.service" 2>/dev/null |
    tail -n1 | sed 's/^/  /' >&2 || true
done

step "apt-get purge"
apt-get purge -y zoneplane >/tmp/apt-purge.log 2>&1 || {
  cat /tmp/apt-purge.log >&2
  fail "apt-get purge"
}
for file in /usr/bin/zoneplane /etc/zoneplane/server.toml /lib/systemd/system/zoneplane-agent.service; do
  [[ ! -e $file ]] || fail "$file is still there after purge"
done
[[ -f /var/lib/zoneplane/server/pki/ca.crt ]] || fail "purge removed the cluster CA"
step "all checks passed"
