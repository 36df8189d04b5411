#!/bin/sh
# Fails when the .c files of src/sidecar call each other in a cycle (issue 15: "no file cycle
# inside src/sidecar"). An edge A -> B means file A uses a wdn__sc_ name that file B defines
# (a definition starts a line; declarations live in internal.h). tsort finds any loop.
# Usage: file_cycles.sh [DIR]   (default: src/sidecar of this tree)
set -eu
dir=${1:-$(cd "$(dirname "$0")/../../../src/sidecar" && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$dir"/*.c; do
    b=$(basename "$f" .c)
    grep -oE '^[a-z][^(;=]*[^a-z0-9_]wdn__sc_[a-z0-9_]+' "$f" |
        grep -oE 'wdn__sc_[a-z0-9_]+$' | sed "s/^/$b /" >>"$tmp/defs" || true
done
for f in "$dir"/*.c; do
    b=$(basename "$f" .c)
    grep -oE 'wdn__sc_[a-z0-9_]+' "$f" | sort -u >"$tmp/used"
    awk -v self="$b" 'NR == FNR { used[$1] = 1; next }
                      ($2 in used) && $1 != self { print self, $1 }' "$tmp/used" "$tmp/defs" \
        >>"$tmp/edges"
done
sort -u "$tmp/edges" >"$tmp/graph"
if ! tsort "$tmp/graph" >/dev/null 2>"$tmp/err"; then
    echo "src/sidecar has a file cycle (A B = A calls into B):"
    cat "$tmp/err"
    cat "$tmp/graph"
    exit 1
fi
echo "src/sidecar: $(wc -l <"$tmp/graph") file dependencies, no cycle:"
tr "\n" ";" <"$tmp/graph"; echo
