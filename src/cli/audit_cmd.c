/* `warden audit verify FILE...` checks the hash chain of audit records and names the first
 * broken record; `warden audit query FILE... [filters]` prints the records that match, as the
 * JSON lines they are. See docs/audit.md. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "base/error.h"
#include "base/limits.h"
#include "cli/args.h"
#include "cli/cli.h"

static const char audit_usage[] =
    "Usage: warden audit verify FILE...\n"
    "       warden audit query FILE... [--tool T] [--decision allow|deny] [--kind K]\n"
    "                                  [--caller ID] [--sub S] [--app-id A] [--trace-id T]\n"
    "                                  [--since TIME] [--until TIME]\n"
    "\n"
    "Reads the audit records a sidecar wrote with --audit-log FILE (JSON lines, each carrying\n"
    "the SHA-256 of the record before it). Give a log and its rotated files in any order\n"
    "(audit.log*): they are read in the order of their records.\n"
    "\n"
    "verify  checks that no record was edited, removed, inserted or reordered. Prints\n"
    "        'OK: N records in F files (seq A..B), last hash H' and exits 0, or prints\n"
    "        'BROKEN: FILE:LINE: what is wrong' for the first broken record and exits 1.\n"
    "        Keep the last hash somewhere else: it is what shows that the newest records\n"
    "        were not cut off or rewritten.\n"
    "query   prints each matching record on one line, unchanged. Filters combine (AND):\n"
    "        --tool T            records about MCP tool T\n"
    "        --decision D        allow or deny\n"
    "        --kind K            api_token, access_control, bearer, tool_policy, tool_call,\n"
    "                            start or dropped\n"
    "        --caller ID         the caller's SPIFFE ID, or its app ID\n"
    "        --sub S             the token's subject\n"
    "        --app-id A          the sidecar that wrote the record\n"
    "        --trace-id T        the trace (32 hex digits)\n"
    "        --since, --until    an RFC 3339 time (2026-11-01T10:00:00Z), a date (2026-11-01,\n"
    "                            UTC) or a time before now (90s, 15m, 2h, 7d); --until is\n"
    "                            exclusive\n"
    "\n"
    "Exit status: 0 success (query: also when nothing matched), 1 a broken chain or an\n"
    "unreadable file, 2 usage error.\n";

static int verify(const char *const *files, size_t n)
{
    struct wdn_audit_verify_result r;
    struct wdn_diag d;

    if (wdn_audit_verify(files, n, &r, &d) != 0) {
        wdn_cli_err("audit verify", "%s", d.msg);
        return WDN_CLI_FAIL;
    }
    if (!r.ok) {
        printf("BROKEN: %s:%llu: %s\n", r.file, (unsigned long long)r.line, r.msg);
        return WDN_CLI_FAIL;
    }
    if (r.records == 0) {
        printf("OK: no records in %zu file%s\n", r.files, r.files == 1 ? "" : "s");
        return WDN_CLI_OK;
    }
    printf("OK: %llu records in %zu file%s (seq %llu..%llu), last hash %s\n",
           (unsigned long long)r.records, r.files, r.files == 1 ? "" : "s",
           (unsigned long long)r.first_seq, (unsigned long long)r.last_seq, r.last_hash);
    if (r.starts_mid_chain)
        printf("note: the first record (seq %llu) is not the chain's first: earlier records "
               "are in files not given here, or were removed\n",
               (unsigned long long)r.first_seq);
    return WDN_CLI_OK;
}

static int print_line(void *ud, struct wdn_str line)
{
    (void)ud;
    fwrite(line.p, 1, line.len, stdout);
    fputc('\n', stdout);
    return ferror(stdout) ? WDN_EIO : 0;
}

static int parse_when(const char *opt, const char *v, int64_t now, int64_t *out)
{
    if (v == NULL)
        return 0;
    if (wdn_audit_parse_time(v, now, out) != 0) {
        wdn_cli_err("audit query",
                    "--%s '%s' is not a time: use 2026-11-01T10:00:00Z, 2026-11-01 or 90s, "
                    "15m, 2h, 7d",
                    opt, v);
        return WDN_CLI_USAGE;
    }
    return 0;
}

int wdn_cli_audit(int argc, char **argv)
{
    const char *pos[WDN_AUDIT_MAX_FILES + 1];
    const char *since = NULL, *until = NULL;
    struct wdn_audit_filter f = {0};
    size_t npos = 0;
    bool help = false;
    struct wdn_diag d;
    struct timespec now;
    uint64_t skipped = 0;
    const struct wdn_cli_opt opts[] = {
        {"tool", 0, &f.tool, NULL, NULL, NULL, 0},
        {"decision", 0, &f.decision, NULL, NULL, NULL, 0},
        {"kind", 0, &f.kind, NULL, NULL, NULL, 0},
        {"caller", 0, &f.caller, NULL, NULL, NULL, 0},
        {"sub", 0, &f.sub, NULL, NULL, NULL, 0},
        {"app-id", 0, &f.app_id, NULL, NULL, NULL, 0},
        {"trace-id", 0, &f.trace_id, NULL, NULL, NULL, 0},
        {"since", 0, &since, NULL, NULL, NULL, 0},
        {"until", 0, &until, NULL, NULL, NULL, 0},
        {0},
    };
    static const struct wdn_cli_opt no_opts[] = {{0}};
    int rc;

    if (argc < 2 || wdn_cli_is_help(argv[1])) {
        fputs(audit_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? WDN_CLI_USAGE : WDN_CLI_OK;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "verify") != 0 && strcmp(verb, "query") != 0) {
        wdn_cli_err("audit", "unknown subcommand '%s' (verify or query)", verb);
        return WDN_CLI_USAGE;
    }
    rc = wdn_cli_parse(argc - 1, argv + 1, strcmp(verb, "query") == 0 ? opts : no_opts, pos, &npos,
                       WDN_AUDIT_MAX_FILES, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(audit_usage, stdout);
        return WDN_CLI_OK;
    }
    if (npos == 0) {
        wdn_cli_err("audit",
                    "%s needs at least one FILE (the --audit-log file and its rotated "
                    "files)",
                    verb);
        return WDN_CLI_USAGE;
    }
    if (strcmp(verb, "verify") == 0)
        return verify(pos, npos);

    if (f.decision && strcmp(f.decision, "allow") != 0 && strcmp(f.decision, "deny") != 0) {
        wdn_cli_err("audit query", "--decision must be allow or deny, not '%s'", f.decision);
        return WDN_CLI_USAGE;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    if (parse_when("since", since, now_ns, &f.since_ns) != 0 ||
        parse_when("until", until, now_ns, &f.until_ns) != 0)
        return WDN_CLI_USAGE;
    rc = wdn_audit_query(pos, npos, &f, print_line, NULL, &skipped, &d);
    if (rc) {
        if (rc == WDN_EIO && ferror(stdout))
            return WDN_CLI_FAIL;
        wdn_cli_err("audit query", "%s", d.msg);
        return WDN_CLI_FAIL;
    }
    if (skipped)
        fprintf(stderr,
                "warden audit query: %llu line%s that are not records skipped (run "
                "'warden audit verify' on these files)\n",
                (unsigned long long)skipped, skipped == 1 ? "" : "s");
    return WDN_CLI_OK;
}
