#!/bin/sh
# Runs the JOSE benchmark next to `openssl speed` in the same run, on an optimised build.
# Usage: bench/jose/run.sh [BUILD_DIR]   (default build-bench-jose, configured Release here)
# Prints the machine load, openssl speed verify times, our numbers, and the RS256 ratio.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-bench-jose}
if [ ! -x "$build/bin/bench_jose" ]; then
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target bench_jose >/dev/null
fi
echo "== machine: $(nproc) cores, $(uname -r), $(openssl version)"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
speed=$(openssl speed -seconds 3 rsa2048 ecdsap256 ed25519 2>/dev/null)
# The last column of each line is verifications per second (the seconds columns are rounded).
rsa_us=$(printf '%s\n' "$speed" | awk '/^rsa 2048 bits/ { printf "%.2f", 1e6 / $NF }')
ec_us=$(printf '%s\n' "$speed" | awk '/ecdsa \(nistp256\)/ { printf "%.2f", 1e6 / $NF }')
ed_us=$(printf '%s\n' "$speed" | awk '/EdDSA \(Ed25519\)/ { printf "%.2f", 1e6 / $NF }')
echo "openssl_speed_rsa2048_verify_us $rsa_us"
echo "openssl_speed_ecdsap256_verify_us $ec_us"
echo "openssl_speed_ed25519_verify_us $ed_us"
out=$("$build/bin/bench_jose")
printf '%s\n' "$out"
rs=$(printf '%s\n' "$out" | awk '$1 == "rs256_verify_us" { print $2 }')
es=$(printf '%s\n' "$out" | awk '$1 == "es256_verify_us" { print $2 }')
ed=$(printf '%s\n' "$out" | awk '$1 == "eddsa_verify_us" { print $2 }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "rs256_over_openssl_speed_rsa2048 $(ratio "$rs" "$rsa_us")"
echo "es256_over_openssl_speed_ecdsap256 $(ratio "$es" "$ec_us")"
echo "eddsa_over_openssl_speed_ed25519 $(ratio "$ed" "$ed_us")"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
