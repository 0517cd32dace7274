#!/bin/sh
# Checks the systemd unit: `systemd-analyze verify` must be clean and the offline security
# exposure must be <= 2.5 (systemd-analyze's --threshold takes that as an integer, 25).
# Usage: systemd/check.sh [path/to/unit.service]   (default: the unit next to this script)
#
# verify also checks that ExecStart=/ExecReload= binaries exist. On a build machine without
# /usr/bin/node (or /bin/kill) the unit is verified inside a throwaway --root that holds the
# host's unit directory and empty stubs for those two binaries, so only the unit is judged.
# CHECK_STUB_ROOT=1 forces that path (the tests use it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
unit=${1:-"$here/ospab-vps-sync.service"}
name=$(basename "$unit")
max_exposure=2.5

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "check.sh: systemd-analyze not found (apt-get install -y systemd)" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The unit file name is what systemd-analyze reports on, so copy it under its real name.
cp "$unit" "$tmp/$name"

echo "== systemd-analyze verify $name"
verify_out="$tmp/verify.out"
if [ -x /usr/bin/node ] && [ -x /bin/kill ] && [ "${CHECK_STUB_ROOT:-0}" != 1 ]; then
  systemd-analyze verify --man=no "$tmp/$name" >"$verify_out" 2>&1 || { cat "$verify_out" >&2; exit 1; }
else
  root="$tmp/root"
  mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/usr/bin" "$root/bin"
  cp -a "$(readlink -f /lib/systemd/system)" "$root/usr/lib/systemd/system"
  for stub in /usr/bin/node /bin/kill; do printf '#!/bin/sh\n' >"$root$stub"; chmod 0755 "$root$stub"; done
  cp "$unit" "$root/etc/systemd/system/$name"
  systemd-analyze verify --man=no --recursive-errors=no --root="$root" "$name" >"$verify_out" 2>&1 || { cat "$verify_out" >&2; exit 1; }
fi
# verify exits 0 on some warnings; treat any line about our unit as a failure.
if grep -F "$name" "$verify_out" >&2; then
  echo "check.sh: systemd-analyze verify reported problems with $name" >&2
  exit 1
fi
echo "ok"

echo "== systemd-analyze security --offline=true $name"
security_out="$tmp/security.out"
threshold=$(awk -v m="$max_exposure" 'BEGIN { printf "%d", m * 10 }')
status=0
systemd-analyze security --offline=true --threshold="$threshold" --no-pager "$tmp/$name" >"$security_out" 2>&1 || status=$?
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$security_out")
if [ -z "$exposure" ]; then
  cat "$security_out" >&2
  echo "check.sh: could not read the exposure level" >&2
  exit 1
fi
grep -F '✗' "$security_out" || true
echo "exposure $exposure (limit $max_exposure)"
# Compare ourselves too: the meaning of --threshold has changed between systemd versions.
if [ "$status" -ne 0 ] || ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
  echo "check.sh: exposure $exposure is above $max_exposure" >&2
  exit 1
fi
echo "ok"
