#!/bin/sh
# scripts/lint (make lint, in CI): each rule finds what it should in a made-up tree and lets
# comments, strings and allowed includes through; then the real tree passes.
set -u
SRC=${WDN_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAIL=0
ok() { echo "ok - $1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $1"; }

mkdir -p "$TMP/src/http" "$TMP/src/base" "$TMP/src/mcp" "$TMP/src/newmod" "$TMP/include/warden"
cat > "$TMP/src/http/bad.c" <<'C'
#include "base/str.h"
#include "http/conn.h"
#include "warden/error.h"
#include "jose/jwt.h"
#include "../base/buf.h"
/* sprintf(buf, "x") in a comment is fine; so is strcpy in "a string: strcpy(a, b)" */
static void f(char *d, const char *s)
{
    sprintf(d, "%s", s);
    (void)strcpy(d, s); strcat(d, s);
    int n = atoi(s); if (system(s)) n++;
    d->sprintf(x); wdn_strcpy(d, s); my_gets(d);
    /* a comment that spans
       lines: gets(d) */ gets(d);
}
C
printf '#include "http/conn.h"\n#include "mcp/server.h"\n' > "$TMP/src/mcp/ok.c"
printf '#include "mcp/server.h"\n' > "$TMP/src/base/up.c"
printf '#include "base/str.h"\n' > "$TMP/src/newmod/x.c"
printf '#include "warden/error.h"\n#include "base/error.h"\n' > "$TMP/include/warden/pub.h"
i=0; while [ $i -lt 901 ]; do echo ";"; i=$((i + 1)); done > "$TMP/src/mcp/big.c"
mkdir -p "$TMP/examples/x"
printf 'char *a = json_dumps(o, 0);\nchar *b = wdn_json_dumps(o, 0);\n' > "$TMP/src/mcp/dump.c"
printf 'char *a = json_dumps(o, 0);\n' > "$TMP/src/base/json_dump.c"
printf 'char *a = json_dumps(o, 0);\n' > "$TMP/examples/x/ex.c"

out=$(cd "$TMP" && LINT_ROOT="$TMP" sh "$SRC/scripts/lint" src/http/bad.c src/mcp/ok.c \
    src/base/up.c src/newmod/x.c include/warden/pub.h src/mcp/big.c src/mcp/dump.c \
    src/base/json_dump.c examples/x/ex.c 2>&1)
rc=$?
echo "$out" | sed 's/^/#   /'
[ $rc -eq 1 ] && ok "findings exit 1" || not_ok "findings exit 1 (got $rc)"
expect() { # count pattern what
    n=$(echo "$out" | grep -c -- "$2")
    [ "$n" -eq "$1" ] && ok "$3" || not_ok "$3 (want $1 lines matching '$2', got $n)"
}
expect 1 "bad.c:9: sprintf() is banned" "sprintf in code, not in the comment or string above"
expect 1 "bad.c:10: strcpy() is banned" "strcpy after a cast"
expect 1 "bad.c:10: strcat() is banned" "a second call on the same line"
expect 1 "bad.c:11: atoi() is banned (STYLE.md): use strtol" "atoi, with what to use instead"
expect 1 "bad.c:11: system() is banned" "system"
expect 0 "bad.c:12:" "members, prefixed and suffixed names are not the banned functions"
expect 1 "bad.c:14: gets() is banned" "gets after a comment that spans lines, not inside it"
expect 1 "bad.c:4: #include \"jose/jwt.h\": http (level 1) may not include jose (level 1)" \
    "a module of the same level"
expect 0 "bad.c:[123]:" "base/, its own module and warden/ are fine"
expect 1 "bad.c:5: #include \"../base/buf.h\" climbs" "a relative include"
expect 0 "ok.c" "mcp includes http (lower) and itself"
expect 1 "up.c:1: #include \"mcp/server.h\": base (level 0) may not include mcp" "an include upward"
expect 1 "src/newmod/x.c: module src/newmod is not in the module order" "a new module must be placed"
expect 1 "pub.h:2: #include \"base/error.h\": a public header includes only warden/" \
    "public headers stand alone"
expect 1 "src/mcp/big.c: 901 lines, over 900" "a file over 900 lines"
expect 1 "dump.c:1: json_dumps() can lose a key" "json_dumps in src/ (wdn_json_dumps checks it)"
expect 0 "dump.c:2:" "wdn_json_dumps is fine"
expect 0 "json_dump.c:1:" "base/json_dump.c is where json_dumps is checked"
expect 0 "ex.c:" "the examples use the public API only"

# The real tree is clean (what CI's make lint checks first).
if out=$(sh "$SRC/scripts/lint" 2>&1); then
    ok "the tree passes scripts/lint"
else
    echo "$out" | sed 's/^/#   /'
    not_ok "the tree passes scripts/lint"
fi
[ $FAIL -eq 0 ]
