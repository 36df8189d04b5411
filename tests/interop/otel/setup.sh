#!/bin/sh
# Installs the receiver's packages once (npm ci from package-lock.json); exit 77 (skip) when npm
# or the registry is not there. Two tests call this at once on a fresh clone: the lock serialises
# them, and only the stamp written after a finished `npm ci` counts as installed (node_modules/
# exists long before npm has unpacked everything, so a directory check let the second test start
# a receiver on half-installed packages).
cd "$(dirname "$0")" || exit 1
stamp=node_modules/.wdn-installed
[ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm not found: skipped"; exit 77; }
exec 9> /tmp/wdn-otel-npm-ci.lock
flock 9
[ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && exit 0
npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; exit 1; }
touch "$stamp"
