#!/bin/sh
# Installs the receiver's packages once (npm ci from package-lock.json); exit 77 (skip) when npm
# or the registry is not there.
cd "$(dirname "$0")" || exit 1
[ -d node_modules/@opentelemetry/otlp-transformer ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm not found: skipped"; exit 77; }
exec 9> /tmp/wdn-otel-npm-ci.lock
flock 9
[ -d node_modules/@opentelemetry/otlp-transformer ] && exit 0
npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; exit 1; }
