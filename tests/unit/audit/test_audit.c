/* Unit tests for src/audit: records of every kind, the hash chain through rotations and
 * restarts, verify naming the record that was edited, removed or reordered, query's filters, and
 * the writer never blocking its callers (a full disk, a file size limit, a pipe nobody reads). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit/audit.h"
#include "audit/internal.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/wdn-audit-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];

    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return 0;
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static struct wdn_audit *open_log(const char *path, uint64_t max_bytes, unsigned keep)
{
    struct wdn_audit *a = NULL;
    struct wdn_diag d;
    struct wdn_audit_opts o = {
        .sink = path, .app_id = "mcp-server", .max_bytes = max_bytes, .keep = keep};
    if (wdn_audit_open(&o, &a, &d) != 0)
        fail_msg("open: %s", d.msg);
    return a;
}

static const uint8_t trace_id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void emit_tool_policy(struct wdn_audit *a, const char *tool, bool allowed)
{
    struct wdn_audit_event ev = {
        .kind = WDN_AUDIT_TOOL_POLICY,
        .allowed = allowed,
        .reason = allowed ? "granted" : "tool_not_granted",
        .status = allowed ? 0 : 403,
        .caller = "spiffe://public/ns/default/mcp-client",
        .iss = "https://issuer.example/",
        .sub = "client-1@clients",
        .client_id = "client-1",
        .jti = "jti-123",
        .verb = WDN_STR("POST"),
        .path = WDN_STR("/mcp"),
        .rpc = WDN_STR("tools/call"),
        .tool = wdn_str_from_cstr(tool),
        .args = WDN_STR("{\"a\":2,\"b\":3}"),
        .generation = 7,
        .trace_id = trace_id,
    };
    wdn_audit_emit(a, &ev);
}

/* Reads a whole file (malloc'd, NUL-terminated). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The lines of a file as an array (each malloc'd, without newline). */
static size_t lines_of(const char *path, char **out, size_t max)
{
    char *all = slurp(path), *p = all, *nl;
    size_t n = 0;

    while (*p && n < max && (nl = strchr(p, '\n')) != NULL) {
        out[n++] = strndup(p, (size_t)(nl - p));
        p = nl + 1;
    }
    free(all);
    return n;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

static void write_lines(const char *path, char **v, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", v[i]);
    fclose(f);
}

static struct wdn_audit_verify_result verify1(const char *path)
{
    struct wdn_audit_verify_result r;
    const char *files[1] = {path};
    assert_int_equal(wdn_audit_verify(files, 1, &r, NULL), 0);
    return r;
}

static void test_record_fields(void **state)
{
    char path[300];
    char *lines[16];
    unsigned char digest[32];
    char hex[65];

    path_of(path, sizeof(path), "fields.log");
    struct wdn_audit *a = open_log(path, 0, 0);
    emit_tool_policy(a, "add", false);
    /* Every decision kind, with only what that kind knows. */
    struct wdn_audit_event api = {.kind = WDN_AUDIT_API_TOKEN,
                                  .reason = "invalid_api_token",
                                  .status = 401,
                                  .verb = WDN_STR("GET"),
                                  .path = WDN_STR("/v1.0/metadata")};
    struct wdn_audit_event acl = {.kind = WDN_AUDIT_ACCESS_CONTROL,
                                  .allowed = true,
                                  .reason = "policy",
                                  .caller = "spiffe://public/ns/default/x"};
    struct wdn_audit_event bearer = {
        .kind = WDN_AUDIT_BEARER, .reason = "missing_token", .status = 401};
    struct wdn_audit_event call = {.kind = WDN_AUDIT_TOOL_CALL,
                                   .allowed = true,
                                   .tool = WDN_STR("echo"),
                                   .rpc = WDN_STR("tools/call"),
                                   .args = WDN_STR("{}")};
    wdn_audit_emit(a, &api);
    wdn_audit_emit(a, &acl);
    wdn_audit_emit(a, &bearer);
    wdn_audit_emit(a, &call);
    wdn_audit_close(a);

    size_t n = lines_of(path, lines, 16);
    assert_int_equal(n, 6);
    json_t *o[6];
    for (size_t i = 0; i < n; i++) {
        o[i] = json_loads(lines[i], JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(o[i]);
        assert_int_equal(json_integer_value(json_object_get(o[i], "seq")), i + 1);
        assert_string_equal(json_string_value(json_object_get(o[i], "app_id")), "mcp-server");
        assert_int_equal(strlen(json_string_value(json_object_get(o[i], "time"))), 27);
    }
    assert_string_equal(json_string_value(json_object_get(o[0], "kind")), "start");
    json_t *t = o[1];
    assert_string_equal(json_string_value(json_object_get(t, "kind")), "tool_policy");
    assert_string_equal(json_string_value(json_object_get(t, "decision")), "deny");
    assert_string_equal(json_string_value(json_object_get(t, "reason")), "tool_not_granted");
    assert_int_equal(json_integer_value(json_object_get(t, "status")), 403);
    assert_string_equal(json_string_value(json_object_get(t, "caller")),
                        "spiffe://public/ns/default/mcp-client");
    assert_string_equal(json_string_value(json_object_get(t, "iss")), "https://issuer.example/");
    assert_string_equal(json_string_value(json_object_get(t, "sub")), "client-1@clients");
    assert_string_equal(json_string_value(json_object_get(t, "client_id")), "client-1");
    assert_string_equal(json_string_value(json_object_get(t, "jti")), "jti-123");
    assert_string_equal(json_string_value(json_object_get(t, "verb")), "POST");
    assert_string_equal(json_string_value(json_object_get(t, "path")), "/mcp");
    assert_string_equal(json_string_value(json_object_get(t, "rpc")), "tools/call");
    assert_string_equal(json_string_value(json_object_get(t, "tool")), "add");
    assert_int_equal(json_integer_value(json_object_get(t, "generation")), 7);
    assert_string_equal(json_string_value(json_object_get(t, "trace_id")),
                        "0102030405060708090a0b0c0d0e0f10");
    /* The arguments' hash, never the arguments (record_args is off). */
    wdn_jose_sha256("{\"a\":2,\"b\":3}", 13, digest);
    wdn_hex_encode(digest, 32, hex);
    assert_string_equal(json_string_value(json_object_get(t, "args_sha256")), hex);
    assert_null(json_object_get(t, "args"));
    assert_null(strstr(lines[1], "\"a\":2"));
    /* The other kinds, and fields left out when empty. */
    assert_string_equal(json_string_value(json_object_get(o[2], "kind")), "api_token");
    assert_null(json_object_get(o[2], "caller"));
    assert_null(json_object_get(o[2], "trace_id"));
    assert_string_equal(json_string_value(json_object_get(o[3], "kind")), "access_control");
    assert_string_equal(json_string_value(json_object_get(o[3], "decision")), "allow");
    assert_null(json_object_get(o[3], "status"));
    assert_string_equal(json_string_value(json_object_get(o[4], "kind")), "bearer");
    assert_string_equal(json_string_value(json_object_get(o[5], "kind")), "tool_call");
    /* Each record's prev is the SHA-256 of the line before it. */
    assert_string_equal(json_string_value(json_object_get(o[0], "prev")),
                        "0000000000000000000000000000000000000000000000000000000000000000");
    for (size_t i = 1; i < n; i++) {
        wdn_jose_sha256(lines[i - 1], strlen(lines[i - 1]), digest);
        wdn_hex_encode(digest, 32, hex);
        assert_string_equal(json_string_value(json_object_get(o[i], "prev")), hex);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(o[i]);
    free_lines(lines, n);

    struct wdn_audit_verify_result r = verify1(path);
    assert_true(r.ok);
    assert_int_equal(r.records, 6);
    assert_false(r.starts_mid_chain);
    unlink(path);
}

static void test_record_args_and_limits(void **state)
{
    char path[300];
    char *lines[4];
    char big[WDN_AUDIT_MAX_FIELD_BYTES + 100];
    struct wdn_audit *a = NULL;

    path_of(path, sizeof(path), "args.log");
    struct wdn_audit_opts o = {.sink = path, .app_id = "app\"x", .record_args = true};
    assert_int_equal(wdn_audit_open(&o, &a, NULL), 0);
    memset(big, 'q', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    struct wdn_audit_event ev = {.kind = WDN_AUDIT_TOOL_CALL,
                                 .allowed = true,
                                 .sub = big,
                                 .tool = WDN_STR("t\n\"x\xff"),
                                 .args = WDN_STR("{\"city\":\"chicago\"}")};
    wdn_audit_emit(a, &ev);
    wdn_audit_close(a);
    assert_int_equal(lines_of(path, lines, 4), 2);
    json_t *r = json_loads(lines[1], JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "app_id")), "app\"x");
    assert_string_equal(json_string_value(json_object_get(r, "args")), "{\"city\":\"chicago\"}");
    assert_string_equal(json_string_value(json_object_get(r, "tool")), "t\n\"x\xef\xbf\xbd");
    assert_int_equal(strlen(json_string_value(json_object_get(r, "sub"))),
                     WDN_AUDIT_MAX_FIELD_BYTES);
    assert_true(json_is_true(json_object_get(r, "truncated")));
    json_decref(r);
    free_lines(lines, 2);
    assert_true(verify1(path).ok);
    unlink(path);

    /* Bad options are refused with what to fix. */
    struct wdn_diag d;
    struct wdn_audit_opts bad = {.sink = path, .app_id = "x", .max_bytes = 100};
    assert_int_equal(wdn_audit_open(&bad, &a, &d), WDN_ERANGE);
    assert_non_null(strstr(d.msg, "--audit-max-size"));
    struct wdn_audit_opts nodir = {.sink = "/proc/nonexistent-dir/audit.log", .app_id = "x"};
    assert_int_equal(wdn_audit_open(&nodir, &a, &d), WDN_EIO);
    assert_non_null(strstr(d.msg, "/proc/nonexistent-dir/audit.log"));
    /* Missing folders above the file are made (0700). */
    char deep[400];
    snprintf(deep, sizeof(deep), "%s/x/y/audit.log", dir);
    struct wdn_audit_opts mk = {.sink = deep, .app_id = "x"};
    assert_int_equal(wdn_audit_open(&mk, &a, &d), 0);
    wdn_audit_close(a);
    assert_true(verify1(deep).ok);
    unlink(deep);
    snprintf(deep, sizeof(deep), "%s/x/y", dir);
    struct stat sb;
    assert_int_equal(stat(deep, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    rmdir(deep);
    snprintf(deep, sizeof(deep), "%s/x", dir);
    rmdir(deep);
}

/* Writes a log of n tool records (plus the start record) at path. */
static void make_log(const char *path, int n)
{
    struct wdn_audit *a = open_log(path, 0, 0);
    for (int i = 0; i < n; i++)
        emit_tool_policy(a, i % 2 ? "add" : "echo", i % 3 != 0);
    wdn_audit_close(a);
}

static void test_verify_finds_tampering(void **state)
{
    char path[300];
    char *v[32], *save;
    struct wdn_audit_verify_result r;

    path_of(path, sizeof(path), "tamper.log");
    make_log(path, 9); /* 10 records: lines 1..10 */
    size_t n = lines_of(path, v, 32);
    assert_int_equal(n, 10);
    assert_true(verify1(path).ok);

    /* Edited: one byte of record 5 (line 5); verify names line 5. */
    char *p = strstr(v[4], "\"decision\":\"");
    assert_non_null(p);
    p[12] = p[12] == 'a' ? 'd' : 'a';
    write_lines(path, v, n);
    r = verify1(path);
    assert_false(r.ok);
    assert_int_equal(r.line, 5);
    assert_string_equal(r.file, path);
    assert_non_null(strstr(r.msg, "seq 5 was changed"));
    p[12] = p[12] == 'a' ? 'd' : 'a';
    write_lines(path, v, n);
    assert_true(verify1(path).ok);

    /* Removed: record 4. */
    save = v[3];
    memmove(v + 3, v + 4, (n - 4) * sizeof(*v));
    write_lines(path, v, n - 1);
    r = verify1(path);
    assert_false(r.ok);
    assert_int_equal(r.line, 4);
    assert_non_null(strstr(r.msg, "seq 4..4 are missing"));
    memmove(v + 4, v + 3, (n - 4) * sizeof(*v));
    v[3] = save;

    /* Reordered: records 6 and 7 swapped. */
    save = v[5];
    v[5] = v[6];
    v[6] = save;
    write_lines(path, v, n);
    r = verify1(path);
    assert_false(r.ok);
    assert_int_equal(r.line, 6);
    v[6] = v[5];
    v[5] = save;

    /* Edited with its seq kept and the next prev fixed by hand is still found further on:
     * here, an inserted record. */
    char *ins[33];
    memcpy(ins, v, 7 * sizeof(*v));
    ins[7] = v[6];
    memcpy(ins + 8, v + 7, (n - 7) * sizeof(*v));
    write_lines(path, ins, n + 1);
    r = verify1(path);
    assert_false(r.ok);
    assert_int_equal(r.line, 8);
    assert_non_null(strstr(r.msg, "reordered or repeated"));

    /* The first record removed: the chain starts mid-way (noted), and is otherwise sound. */
    write_lines(path, v + 1, n - 1);
    r = verify1(path);
    assert_true(r.ok);
    assert_true(r.starts_mid_chain);
    assert_int_equal(r.first_seq, 2);

    /* A line that is not a record (cut short by a crash). */
    write_lines(path, v, n);
    FILE *f = fopen(path, "a");
    fputs("{\"seq\":11,\"time\":\"2026", f);
    fclose(f);
    r = verify1(path);
    assert_false(r.ok);
    assert_int_equal(r.line, 11);
    assert_non_null(strstr(r.msg, "not a JSON record"));
    /* A restart ends the cut line and goes on from it; verify still names it. */
    make_log(path, 1);
    r = verify1(path);
    assert_false(r.ok);
    assert_int_equal(r.line, 11);

    /* A forged genesis in the middle. */
    write_lines(path, v, n);
    char *forged = strdup(v[2]);
    char *prev = strstr(forged, "\"prev\":\"");
    memset(prev + 8, '0', 64);
    char *keep = v[2];
    v[2] = forged;
    write_lines(path, v, n);
    r = verify1(path);
    assert_false(r.ok);
    v[2] = keep;
    free(forged);
    free_lines(v, n);
    unlink(path);
}

static void test_rotation_and_restart(void **state)
{
    char path[300], p1[320], p2[320], p3[320];

    path_of(path, sizeof(path), "rot.log");
    snprintf(p1, sizeof(p1), "%s.1", path);
    snprintf(p2, sizeof(p2), "%s.2", path);
    snprintf(p3, sizeof(p3), "%s.3", path);
    struct wdn_audit *a = open_log(path, 4096, 2);
    for (int i = 0; i < 60; i++)
        emit_tool_policy(a, "add", true);
    assert_int_equal(wdn_audit_flush(a, 30000), 0);
    struct wdn_audit_stats st;
    wdn_audit_stats(a, &st);
    assert_int_equal(st.written, 61);
    assert_true(st.rotations >= 3);
    wdn_audit_close(a);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size <= 4096);
    assert_int_equal(stat(p1, &sb), 0);
    assert_int_equal(stat(p2, &sb), 0);
    assert_int_equal(stat(p3, &sb), -1); /* keep 2 */

    /* The kept files verify as one chain, in any order; their first record is mid-chain. */
    const char *files[3] = {path, p1, p2};
    struct wdn_audit_verify_result r;
    assert_int_equal(wdn_audit_verify(files, 3, &r, NULL), 0);
    assert_true(r.ok);
    assert_true(r.starts_mid_chain);
    assert_int_equal(r.last_seq, 61);
    /* Without the middle file, the gap is found. */
    const char *gap[2] = {path, p2};
    assert_int_equal(wdn_audit_verify(gap, 2, &r, NULL), 0);
    assert_false(r.ok);
    assert_string_equal(r.file, path);
    assert_int_equal(r.line, 1);

    /* A restart continues the chain from the last record. */
    a = open_log(path, 4096, 2);
    emit_tool_policy(a, "echo", false);
    wdn_audit_close(a);
    assert_int_equal(wdn_audit_verify(files, 3, &r, NULL), 0);
    assert_true(r.ok);
    assert_int_equal(r.last_seq, 63);

    /* After a rotation left FILE missing, a restart continues from FILE.1. */
    unlink(p2);
    assert_int_equal(rename(p1, p2), 0);
    assert_int_equal(rename(path, p1), 0);
    a = open_log(path, 4096, 2);
    wdn_audit_close(a);
    assert_int_equal(wdn_audit_verify(files, 3, &r, NULL), 0);
    assert_true(r.ok);
    assert_int_equal(r.last_seq, 64);
    unlink(path);
    unlink(p1);
    unlink(p2);
}

static int collect(void *ud, struct wdn_str line)
{
    json_t *arr = ud;
    json_array_append_new(arr, json_loadb(line.p, line.len, 0, NULL));
    return 0;
}

static size_t query(const char *path, const struct wdn_audit_filter *f)
{
    const char *files[1] = {path};
    json_t *arr = json_array();
    uint64_t skipped = 99;
    assert_int_equal(wdn_audit_query(files, 1, f, collect, arr, &skipped, NULL), 0);
    assert_int_equal(skipped, 0);
    size_t n = json_array_size(arr);
    json_decref(arr);
    return n;
}

static void test_query(void **state)
{
    char path[300];
    struct wdn_audit_filter f;
    int64_t now, t;

    path_of(path, sizeof(path), "query.log");
    make_log(path, 12); /* i=0..11: tools echo/add alternating; deny when i%3==0 */
    memset(&f, 0, sizeof(f));
    assert_int_equal(query(path, &f), 13);
    f.tool = "add";
    assert_int_equal(query(path, &f), 6);
    f.decision = "deny";
    assert_int_equal(query(path, &f), 2); /* i = 3, 9 */
    memset(&f, 0, sizeof(f));
    f.kind = "start";
    assert_int_equal(query(path, &f), 1);
    memset(&f, 0, sizeof(f));
    f.caller = "mcp-client";
    assert_int_equal(query(path, &f), 12);
    f.caller = "spiffe://public/ns/default/mcp-client";
    assert_int_equal(query(path, &f), 12);
    f.caller = "client";
    assert_int_equal(query(path, &f), 0);
    memset(&f, 0, sizeof(f));
    f.sub = "client-1@clients";
    f.trace_id = "0102030405060708090a0b0c0d0e0f10";
    f.app_id = "mcp-server";
    assert_int_equal(query(path, &f), 12);
    memset(&f, 0, sizeof(f));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    assert_int_equal(wdn_audit_parse_time("1h", now, &f.since_ns), 0);
    assert_int_equal(query(path, &f), 13);
    f.since_ns = now + 1000000000LL;
    assert_int_equal(query(path, &f), 0);
    f.since_ns = 0;
    assert_int_equal(wdn_audit_parse_time("2001-01-01", now, &f.until_ns), 0);
    assert_int_equal(query(path, &f), 0);

    /* Lines that are not records are skipped and counted. */
    FILE *fp = fopen(path, "a");
    fputs("garbage\n", fp);
    fclose(fp);
    const char *files[1] = {path};
    uint64_t skipped = 0;
    json_t *arr = json_array();
    memset(&f, 0, sizeof(f));
    assert_int_equal(wdn_audit_query(files, 1, &f, collect, arr, &skipped, NULL), 0);
    assert_int_equal(skipped, 1);
    assert_int_equal(json_array_size(arr), 13);
    json_decref(arr);

    /* Times. */
    assert_int_equal(wdn_audit_parse_time("2026-11-01T10:00:00Z", 0, &t), 0);
    assert_true(t == 1793527200LL * 1000000000LL);
    assert_int_equal(wdn_audit_parse_time("2026-11-01T12:00:00.5+02:00", 0, &t), 0);
    assert_true(t == 1793527200LL * 1000000000LL + 500000000LL);
    assert_int_equal(wdn_audit_parse_time("2026-11-01", 0, &t), 0);
    assert_true(t == 1793491200LL * 1000000000LL);
    assert_int_equal(wdn_audit_parse_time("90s", 100LL * 1000000000LL, &t), 0);
    assert_true(t == 10LL * 1000000000LL);
    assert_int_equal(wdn_audit_parse_time("7d", 0, &t), 0);
    assert_true(t == -7LL * 86400 * 1000000000LL);
    static const char *const bad[] = {"",
                                      "x",
                                      "10",
                                      "10w",
                                      "2026-13-01",
                                      "2026-02-30",
                                      "2026-11-01T10:00Z",
                                      "2026-11-01T10:00:00",
                                      "s",
                                      "2026-11-01T10:00:00+2:00",
                                      "99999999999999999d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wdn_audit_parse_time(bad[i], 0, &t) != WDN_EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    unlink(path);
}

/* A disk that is full: every write fails. Emitting never blocks or fails; losses are counted. */
static void test_full_disk(void **state)
{
    struct wdn_audit *a = open_log("/dev/full", 0, 0);
    struct wdn_audit_stats st;

    for (int i = 0; i < 2000; i++)
        emit_tool_policy(a, "add", true);
    assert_int_equal(wdn_audit_flush(a, 30000), 0);
    wdn_audit_stats(a, &st);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.dropped, 2000); /* queue full, or the write failed: every one counted */
    assert_true(st.sink_errors > 0);
    wdn_audit_close(a);
}

/* Writes fail for a while (the file may not grow), then work again: the records lost are
 * reported by a "dropped" record, no partial record is left behind, and the chain verifies. */
static void test_disk_full_then_space(void **state)
{
    char path[300];
    struct rlimit old, lim;
    struct wdn_audit_stats st;

    path_of(path, sizeof(path), "full.log");
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    struct wdn_audit *a = open_log(path, 0, 0);
    emit_tool_policy(a, "add", true);
    assert_int_equal(wdn_audit_flush(a, 30000), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size + 100; /* part of one more record fits: a short write */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int i = 0; i < 5; i++)
        emit_tool_policy(a, "echo", true);
    assert_int_equal(wdn_audit_flush(a, 30000), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    wdn_audit_stats(a, &st);
    assert_true(st.sink_errors >= 1); /* one per refused batch */
    assert_int_equal(st.dropped, 5);
    emit_tool_policy(a, "add", false);
    wdn_audit_close(a);
    signal(SIGXFSZ, SIG_DFL);

    char *v[16];
    size_t n = lines_of(path, v, 16);
    assert_int_equal(n, 4); /* start, add, dropped(5), add */
    assert_non_null(strstr(v[2], "\"kind\":\"dropped\""));
    assert_non_null(strstr(v[2], "\"reason\":\"sink_error\",\"count\":5"));
    assert_non_null(strstr(v[3], "\"decision\":\"deny\""));
    free_lines(v, n);
    assert_true(verify1(path).ok);
    unlink(path);
}

/* A sink that takes nothing (a pipe whose reader never reads): emitting goes on at once,
 * the queue fills and drops, and closing gives up after its drain time. */
static void test_slow_sink(void **state)
{
    char path[300];
    struct wdn_audit *a = NULL;
    struct wdn_audit_stats st;

    path_of(path, sizeof(path), "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    int rd = open(path, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    struct wdn_audit_opts o = {.sink = path, .app_id = "x", .queue_cap = 128};
    assert_int_equal(wdn_audit_open(&o, &a, NULL), 0);
    for (int i = 0; i < 5000; i++)
        emit_tool_policy(a, "add", true);
    wdn_audit_stats(a, &st);
    assert_true(st.queued <= 5000);
    assert_true(st.dropped >= 5000 - st.queued);
    assert_true(st.dropped > 0);
    assert_int_equal(wdn_audit_flush(a, 100), WDN_ETIMEOUT);
    wdn_audit_close(a);
    close(rd);
    unlink(path);
}

/* Request threads copy events of every size into one ring of bytes, which wraps many times while
 * the writer takes records out: every record that was queued comes out whole and in one piece
 * (its tool and arguments are those its thread sent), every loss is on record, the chain holds. */
struct burst {
    struct wdn_audit *a;
    int id;
};

/* The arguments of event i of thread t: i % 5 == 4 are longer than an entry holds. */
static size_t burst_args(int t, int i, char *buf, size_t cap)
{
    size_t n = i % 5 == 4 ? WDN_AUDIT_MAX_ARGS_BYTES + 100 + (size_t)i % 7 : (size_t)(i * 37 % 900);
    if (n + 1 > cap)
        n = cap - 1;
    for (size_t k = 0; k < n; k++)
        buf[k] = (char)('a' + (t * 7 + i + (int)k) % 26);
    buf[n] = '\0';
    return n;
}

static void *burst_run(void *arg)
{
    struct burst *b = arg;
    static __thread char args[WDN_AUDIT_MAX_ARGS_BYTES + 200];
    char tool[64];

    for (int i = 0; i < 3000; i++) {
        size_t n = burst_args(b->id, i, args, sizeof(args));
        snprintf(tool, sizeof(tool), "t%d-%d", b->id, i);
        struct wdn_audit_event ev = {.kind = WDN_AUDIT_TOOL_CALL,
                                     .allowed = true,
                                     .reason = "forwarded",
                                     .caller = i % 3 ? "spiffe://public/ns/default/c" : NULL,
                                     .rpc = WDN_STR("tools/call"),
                                     .tool = wdn_str_from_cstr(tool),
                                     .args = (struct wdn_str){args, n}};
        wdn_audit_emit(b->a, &ev);
        if (i % 50 == 49)
            wdn_audit_flush(b->a, 30000); /* so the writer takes turns with the threads */
    }
    return NULL;
}

static void test_queue_wraps(void **state)
{
    char path[300];
    struct wdn_audit *a = NULL;
    struct wdn_audit_stats st;
    pthread_t th[4];
    struct burst b[4];
    static char args[WDN_AUDIT_MAX_ARGS_BYTES + 200];

    path_of(path, sizeof(path), "burst.log");
    struct wdn_audit_opts o = {.sink = path, .app_id = "x", .queue_cap = 64};
    assert_int_equal(wdn_audit_open(&o, &a, NULL), 0);
    for (int t = 0; t < 4; t++) {
        b[t] = (struct burst){a, t};
        assert_int_equal(pthread_create(&th[t], NULL, burst_run, &b[t]), 0);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(wdn_audit_flush(a, 30000), 0);
    wdn_audit_stats(a, &st);
    wdn_audit_close(a);
    assert_int_equal(st.queued + st.dropped, 4 * 3000);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    uint64_t events = 0, lost = 0, bytes = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, 0, NULL);
        assert_non_null(r);
        const char *kind = json_string_value(json_object_get(r, "kind"));
        if (strcmp(kind, "dropped") == 0) {
            assert_string_equal(json_string_value(json_object_get(r, "reason")), "queue_full");
            lost += (uint64_t)json_integer_value(json_object_get(r, "count"));
        } else if (strcmp(kind, "tool_call") == 0) {
            int t, i;
            unsigned char d[32];
            char hex[65];
            assert_int_equal(
                sscanf(json_string_value(json_object_get(r, "tool")), "t%d-%d", &t, &i), 2);
            size_t n = burst_args(t, i, args, sizeof(args));
            assert_int_equal(wdn_jose_sha256(args, n, d), 0);
            wdn_hex_encode(d, 32, hex);
            if (n)
                assert_string_equal(json_string_value(json_object_get(r, "args_sha256")), hex);
            assert_int_equal(json_object_get(r, "caller") != NULL, i % 3 != 0);
            events++;
            bytes += n;
        }
        json_decref(r);
    }
    free(line);
    fclose(f);
    assert_int_equal(events, st.queued);
    assert_int_equal(lost, st.dropped);
    /* The ring (64 records' worth and one of the largest) went round many times. */
    assert_true(bytes > 10 * (64 * WDN_AUDIT_QUEUE_RECORD_BYTES + WDN__AUDIT_ENTRY_MAX));
    assert_true(verify1(path).ok);
    unlink(path);
}

/* A folder watcher asks whether a name it saw is the log's own (its writes, its rotations). */
static void test_log_name(void **state)
{
    char path[300];
    struct wdn_audit *a, *out;
    struct wdn_diag d;
    struct wdn_audit_opts o = {.sink = "stdout", .app_id = "x"};

    path_of(path, sizeof(path), "app.log");
    a = open_log(path, 0, 0);
    assert_true(wdn_audit_is_log_name(a, "app.log"));
    assert_true(wdn_audit_is_log_name(a, "app.log.1"));
    assert_true(wdn_audit_is_log_name(a, "app.log.12"));
    assert_false(wdn_audit_is_log_name(a, "app.log."));
    assert_false(wdn_audit_is_log_name(a, "app.log.1x"));
    assert_false(wdn_audit_is_log_name(a, "app.log.yaml"));
    assert_false(wdn_audit_is_log_name(a, "app.lo"));
    assert_false(wdn_audit_is_log_name(a, "bearer.yaml"));
    assert_false(wdn_audit_is_log_name(a, NULL));
    assert_false(wdn_audit_is_log_name(NULL, "app.log"));
    wdn_audit_close(a);
    unlink(path);
    assert_int_equal(wdn_audit_open(&o, &out, &d), 0);
    assert_false(wdn_audit_is_log_name(out, "stdout"));
    wdn_audit_close(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_fields),
        cmocka_unit_test(test_record_args_and_limits),
        cmocka_unit_test(test_verify_finds_tampering),
        cmocka_unit_test(test_rotation_and_restart),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_full_disk),
        cmocka_unit_test(test_disk_full_then_space),
        cmocka_unit_test(test_slow_sink),
        cmocka_unit_test(test_queue_wraps),
        cmocka_unit_test(test_log_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
