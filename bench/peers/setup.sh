#!/bin/sh
# Installs the peers of the request-path benchmark (bench/peers/run.sh) from Debian 12's
# packages: HAProxy 2.6 and Apache 2.4 with mod_auth_openidc. Bench-only and heavy (Apache
# pulls libcurl, libhiredis, libcjose, ...), so they are not in scripts/bootstrap, which runs on
# every developer machine and in CI. nginx, wrk and openssl come from the bootstrap.
# Idempotent: does nothing when everything is there. Usage: bench/peers/setup.sh
set -eu

PACKAGES="haproxy apache2 libapache2-mod-auth-openidc nginx-light wrk openssl curl"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    exit 0
fi
echo "bench/peers/setup: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "bench/peers/setup: run as root to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The packages may start system services on ports 80/443 (where no policy-rc.d prevents it);
# the benchmark runs its own instances on free ports, so the system ones are stopped.
for s in apache2 haproxy; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$s" ]; then
        $SUDO "/etc/init.d/$s" stop >/dev/null 2>&1 || true
    fi
done
echo "bench/peers/setup: done"
