#!/bin/bash
# tests/setup.sh -- install what ferry needs to build and test, from Debian's packages, if it is
# missing.  The lists are tests/deps/*.txt (one package per line).  Idempotent and quick when
# everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(cat tests/deps/*.txt | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)
missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#wanted[@]} packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
fi
echo "setup: installing ${missing[*]}"
# Package scripts must not start services on this machine (the lab starts its own daemons).
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/tmp/ferry-apt.log 2>&1 ||
    { tail -20 /tmp/ferry-apt.log >&2; exit 1; }
[ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
echo "setup: done"
