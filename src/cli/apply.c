/* `warden apply -f FILE|DIR|-`: validate every document first (errors as file:line:col, nothing
 * written when any is wrong), then store each resource as the YAML text the user wrote, one
 * file per kind and name. Idempotent: applying the same file twice reports "unchanged". */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/validate.h"
#include "cli/wait.h"
#include "project/project.h"
#include "project/store.h"
#include "resources/resources.h"

#define MAX_INPUTS 32
#define MAX_DOCS 256

static const char apply_usage[] =
    "Usage: warden apply -f FILE|DIR|- [-f ...] [--project P] [--dry-run] [--no-wait]\n"
    "\n"
    "Validates and stores Components, Configurations and MCPServers in a project. A folder\n"
    "applies its *.yaml and *.yml files in name order; '-' reads standard input (e.g.\n"
    "'envsubst < bearer.yaml | warden apply -f -'). Every error is printed as file:line:col and\n"
    "nothing is stored unless all documents are valid. Running sidecars pick changes up live.\n"
    "\n"
    "  -f, --filename PATH   file, folder or '-' (repeatable)\n"
    "  -p, --project P       project (default: WARDEN_PROJECT, then 'warden project use')\n"
    "      --dry-run         validate and print what would change, store nothing\n"
    "      --no-wait         do not wait for running sidecars to apply the change\n"
    "\n"
    "Nothing is stored when a running sidecar would refuse it: the checks are the sidecar's\n"
    "own, on the project as it would be, for each app ID bound to a configuration. Then each\n"
    "running sidecar the change affects is waited for (5 s at most; WARDEN_WAIT_TIMEOUT=SECS\n"
    "changes it) and 'applied to APP (generation N)' printed, or its error (exit 1).\n";

/* One input file read whole, with its documents. */
struct input {
    char name[1024];
    struct wdn_buf text;
};

struct doc {
    const char *kind; /* WDN_KIND_* */
    char name[256];
    const char *text;
    size_t len;
    const char *file;
};

static int read_stream(FILE *f, struct wdn_buf *b)
{
    char chunk[8192];
    size_t n;

    wdn_buf_init(b, WDN_YAML_MAX_BYTES);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (wdn_buf_append(b, chunk, n) != 0)
            return WDN_ELIMIT;
    }
    return ferror(f) ? WDN_EIO : (wdn_buf_cstr(b) ? 0 : WDN_ENOMEM);
}

static int add_file(struct input *in, size_t *n, const char *path)
{
    FILE *f;
    int rc;

    if (*n >= MAX_INPUTS) {
        wdn_cli_err("apply", "too many files (at most %d)", MAX_INPUTS);
        return -1;
    }
    struct input *it = &in[(*n)++];
    snprintf(it->name, sizeof(it->name), "%s", strcmp(path, "-") == 0 ? "<stdin>" : path);
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        wdn_buf_init(&it->text, 0);
        wdn_cli_err("apply", "cannot read %s", path);
        return -1;
    }
    rc = read_stream(f, &it->text);
    if (f != stdin)
        fclose(f);
    if (rc) {
        wdn_cli_err("apply", "cannot read %s: %s", path, wdn_strerror(rc));
        return -1;
    }
    return 0;
}

static int yaml_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && ((n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0) ||
                                   (n > 4 && strcmp(e->d_name + n - 4, ".yml") == 0));
}

static int add_path(struct input *in, size_t *n, const char *path)
{
    struct stat st;
    struct dirent **ents;
    int count, rc = 0;

    if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)))
        return add_file(in, n, path);
    if (stat(path, &st) != 0) {
        wdn_cli_err("apply", "%s: no such file or folder", path);
        return -1;
    }
    count = scandir(path, &ents, yaml_name, alphasort);
    if (count < 0) {
        wdn_cli_err("apply", "cannot list %s", path);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        char child[2048];
        snprintf(child, sizeof(child), "%s/%s", path, ents[i]->d_name);
        if (rc == 0)
            rc = add_file(in, n, child);
        free(ents[i]);
    }
    free(ents);
    return rc;
}

/* True when line (up to its end) is a YAML document marker "---" or "...". */
static int is_marker(const char *p, const char *end, char c)
{
    if (end - p < 3 || p[0] != c || p[1] != c || p[2] != c)
        return 0;
    return end - p == 3 || p[3] == ' ' || p[3] == '\t' || p[3] == '\r' || p[3] == '\n';
}

/* Names one document by loading it alone, and records it when it holds a resource. */
static int emit(const struct input *in, const char *start, size_t len, struct doc *docs,
                size_t *ndocs)
{
    struct wdn_resources *set = wdn_resources_new();
    const char *kind = NULL, *name = NULL;
    int rc = 0;

    if (set == NULL)
        return WDN_ENOMEM;
    wdn_resources_load_buffer(set, in->name, NULL, start, len);
    if (set->n_components) {
        kind = WDN_KIND_COMPONENT;
        name = set->components[0]->metadata.name;
    } else if (set->n_configurations) {
        kind = WDN_KIND_CONFIGURATION;
        name = set->configurations[0]->metadata.name;
    } else if (set->n_mcpservers) {
        kind = WDN_KIND_MCPSERVER;
        name = set->mcpservers[0]->metadata.name;
    }
    if (kind && name) {
        if (*ndocs < MAX_DOCS) {
            struct doc *d = &docs[(*ndocs)++];
            d->kind = kind;
            snprintf(d->name, sizeof(d->name), "%s", name);
            d->text = start;
            d->len = len;
            d->file = in->name;
        } else {
            rc = WDN_ELIMIT;
        }
    }
    wdn_resources_free(set);
    return rc;
}

/* Splits a validated stream into its documents at "---" and "..." lines. A "---" line stays
 * with the document it opens (it may carry content); a "..." line ends one. */
static int split_docs(const struct input *in, struct doc *docs, size_t *ndocs)
{
    const char *p = in->text.data, *end = p + in->text.len, *start = p;
    int rc = 0;

    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        if (is_marker(p, next, '-') || is_marker(p, next, '.')) {
            rc = emit(in, start, (size_t)(p - start), docs, ndocs);
            start = *p == '-' ? p : next;
        }
        p = next;
    }
    if (rc == 0 && start < end)
        rc = emit(in, start, (size_t)(end - start), docs, ndocs);
    return rc;
}

int wdn_cli_apply(int argc, char **argv)
{
    const char *files[MAX_INPUTS], *proj = NULL, *pos[1];
    size_t nfiles = 0, npos, ninputs = 0, ndocs = 0;
    bool help, dry = false, no_wait = false;
    struct wdn_cli_wait w = {0};
    char project[128];
    struct input *inputs = calloc(MAX_INPUTS, sizeof(*inputs));
    struct doc *docs = calloc(MAX_DOCS, sizeof(*docs));
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_diag d;
    const struct wdn_cli_opt opts[] = {
        {"filename", 'f', NULL, NULL, files, &nfiles, MAX_INPUTS},
        {"project", 'p', &proj, NULL, NULL, NULL, 0},
        {"dry-run", 0, NULL, &dry, NULL, NULL, 0},
        {"no-wait", 0, NULL, &no_wait, NULL, NULL, 0},
        {0},
    };
    int fd = -1, rc = wdn_cli_parse(argc, argv, opts, pos, &npos, 0, &help);

    if (inputs == NULL || docs == NULL || set == NULL) {
        rc = WDN_CLI_FAIL;
        goto out;
    }
    if (rc)
        goto out;
    if (help || nfiles == 0) {
        fputs(apply_usage, help ? stdout : stderr);
        rc = help ? WDN_CLI_OK : WDN_CLI_USAGE;
        goto out;
    }
    rc = WDN_CLI_FAIL;
    if (wdn_project_resolve(proj, project, sizeof(project), &d) != 0) {
        wdn_cli_err("apply", "%s", d.msg);
        goto out;
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (add_path(inputs, &ninputs, files[i]) != 0)
            goto out;
    }
    /* Validate everything before writing anything: first each document on its own... */
    for (size_t i = 0; i < ninputs; i++)
        wdn_resources_load_buffer(set, inputs[i].name, NULL, inputs[i].text.data,
                                  inputs[i].text.len);
    for (size_t i = 0; i < set->n_runfiles; i++) {
        struct wdn_diag rd;
        wdn_diag_set_at(&rd, WDN_ECONFIG, set->runfiles[i]->pos.file, set->runfiles[i]->pos.line,
                        set->runfiles[i]->pos.col,
                        "a run file is for 'warden dev run -f', not 'warden apply'");
        wdn_resources_add_diag(set, false, &rd);
    }
    if (set->n_errors == 0) {
        for (size_t i = 0; i < ninputs; i++) {
            if (split_docs(&inputs[i], docs, &ndocs) != 0) {
                wdn_cli_err("apply", "too many documents (at most %d)", MAX_DOCS);
                goto out;
            }
        }
        if (ndocs == 0) {
            wdn_cli_err("apply", "no resources found in the input");
            goto out;
        }
        /* ...then the project as it would be, checked as its sidecars will check it. */
        struct wdn_cli_resref *skip = calloc(ndocs, sizeof(*skip));
        if (skip == NULL)
            goto out;
        for (size_t i = 0; i < ndocs; i++)
            skip[i] = (struct wdn_cli_resref){docs[i].kind, docs[i].name};
        int lrc = wdn_cli_load_project(set, project, skip, ndocs);
        free(skip);
        if (lrc) {
            wdn_cli_err("apply", "cannot read project '%s': %s", project, wdn_strerror(lrc));
            goto out;
        }
        wdn_cli_validate(set, project, NULL, NULL);
    }
    size_t errors = wdn_cli_print_msgs(set, "apply");
    if (errors) {
        fprintf(stderr, "warden apply: nothing applied (%zu error%s)\n", errors,
                errors == 1 ? "" : "s");
        goto out;
    }
    if (!dry && wdn_project_lock(project, &fd) != 0) {
        wdn_cli_err("apply", "cannot lock project '%s'", project);
        goto out;
    }
    if (!dry)
        wdn_cli_wait_begin(&w, project);
    for (size_t i = 0; i < ndocs; i++) {
        enum wdn_store_change ch = WDN_STORE_CONFIGURED;
        if (dry) {
            struct wdn_buf old;
            if (wdn_store_get_resource(project, docs[i].kind, docs[i].name, &old) != 0)
                ch = WDN_STORE_CREATED;
            else if (old.len == docs[i].len && memcmp(old.data, docs[i].text, old.len) == 0)
                ch = WDN_STORE_UNCHANGED;
            wdn_buf_reset(&old);
        } else if (wdn_store_put_resource(project, docs[i].kind, docs[i].name, docs[i].text,
                                          docs[i].len, &ch) != 0) {
            wdn_cli_err("apply", "cannot store %s/%s", docs[i].kind, docs[i].name);
            goto out;
        }
        printf("%s/%s %s%s\n", docs[i].kind, docs[i].name, wdn_store_change_name(ch),
               dry ? " (dry run)" : "");
    }
    wdn_project_unlock(fd);
    fd = -1;
    rc = wdn_cli_wait_end(&w, "apply", no_wait || dry) ? WDN_CLI_FAIL : WDN_CLI_OK;
out:
    free(w.apps);
    wdn_project_unlock(fd);
    for (size_t i = 0; inputs && i < ninputs; i++)
        wdn_buf_reset(&inputs[i].text);
    free(inputs);
    free(docs);
    wdn_resources_free(set);
    return rc;
}
