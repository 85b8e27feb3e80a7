/* fleet.c: fleet mode. `mpirun -np R clrepro run ...` runs the benchmark on every rank's device
 * (the local rank's among the devices --device selects, wrapping around), each rank into a
 * private folder of its own host; then every rank's files travel to rank 0, which writes them
 * under --out (default results/) as <host>-rank<k>/<device>/..., a fleet.md that says which
 * rank ran what and how it ended, and one comparison of every document in compare/. A rank that
 * fails sends its message instead of files: rank 0 reports it, keeps the others' results and
 * exits non-zero. Nothing is written when no rank succeeded. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "allreduce.h"
#include "atomic_file.h"
#include "commands.h"
#include "device.h"
#include "text.h"

#ifndef CLREPRO_HAVE_MPI
void clr_fleet_abandon(const char *msg)
{
    (void)msg;
}

int clr_fleet_run(const clr_cli *cli, const char *command_line, clr_error *err)
{
    (void)cli, (void)command_line;
    return clr_fail(err, CLR_EUSAGE, "run under an MPI launcher (fleet mode) needs a clrepro built with MPI: install "
                                     "Open MPI (scripts/install-deps.sh: openmpi-bin, libopenmpi-dev) and build again");
}
#else
#include <mpi.h>
#include "mpi_support.h"

typedef struct packed {
    char *buf;
    size_t len, cap;
} packed;

static int pack_bytes(packed *p, const void *bytes, size_t n)
{
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        char *g = realloc(p->buf, cap);
        if (!g)
            return -1;
        p->buf = g;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, bytes, n);
    p->len += n;
    return 0;
}

/* Every regular file under dir (relative paths rel), as: path NUL, 8-byte size, bytes. */
static int pack_tree(packed *p, const char *dir, const char *rel, clr_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return clr_fail(err, CLR_EFAIL, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = CLR_OK;
    while (rc == CLR_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX], sub[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            rc = pack_tree(p, path, sub, err);
            continue;
        }
        if (!S_ISREG(sb.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        char *bytes = f ? malloc((size_t)sb.st_size + 1) : NULL;
        uint64_t size = (uint64_t)sb.st_size;
        if (!f || !bytes || fread(bytes, 1, (size_t)size, f) != (size_t)size)
            rc = clr_fail(err, CLR_EFAIL, "cannot read %s", path);
        else if (pack_bytes(p, sub, strlen(sub) + 1) || pack_bytes(p, &size, sizeof size) ||
                 pack_bytes(p, bytes, (size_t)size))
            rc = clr_fail(err, CLR_EFAIL, "out of host memory packing %s", path);
        free(bytes);
        if (f)
            fclose(f);
    }
    closedir(d);
    return rc;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            struct stat sb;
            if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_tree(path);
            else
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Waits for every rank without spinning a core (a rank done early must not slow another's
 * measurement on a shared CPU). */
static void quiet_barrier(void)
{
    MPI_Request req;
    int done = 0;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    while (!done) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* A folder name from a host name: letters, digits, '-' and '.', nothing else. */
static void safe_name(const char *s, char *out, size_t size)
{
    size_t k = 0;
    for (; *s && k + 1 < size; ++s) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        out[k] = ok && !(k == 0 && c == '.') ? c : '_';
        ++k;
    }
    out[k] = '\0';
    if (!k)
        snprintf(out, size, "host");
}

/* What each rank sends rank 0: status, message, host, device, then its files. */
typedef struct rank_head {
    int32_t rc;
    char msg[1024], host[128], device[256], driver[256];
} rank_head;

#define SEND_PIECE ((size_t)1 << 30)

static void send_all(const char *buf, size_t len, int to)
{
    for (size_t a = 0; a < len || a == 0; a += SEND_PIECE) {
        size_t n = len - a < SEND_PIECE ? len - a : SEND_PIECE;
        MPI_Send(buf + a, (int)n, MPI_BYTE, to, 1, MPI_COMM_WORLD);
        if (n == 0)
            break;
    }
}

static void recv_all(char *buf, size_t len, int from)
{
    for (size_t a = 0; a < len || a == 0; a += SEND_PIECE) {
        size_t n = len - a < SEND_PIECE ? len - a : SEND_PIECE;
        MPI_Recv(buf + a, (int)n, MPI_BYTE, from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (n == 0)
            break;
    }
}

/* Unpacks one rank's files under root/label into the batch. */
/* One path of a rank's files, checked: relative, no component "." or "..", not empty. */
static int safe_relative(const char *name)
{
    if (!name[0] || name[0] == '/')
        return 0;
    for (const char *p = name; *p;) {
        size_t l = strcspn(p, "/");
        if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += l;
        if (*p == '/')
            ++p;
    }
    return 1;
}

/* Unpacks one rank's files under root/label into the batch; the JSON documents' paths are added
 * to docs (the comparison reads these files, not whatever else the folder holds). */
static int unpack(const char *buf, size_t len, const char *root, const char *label, clr_file_batch *batch,
                  char ***docs, size_t *ndocs, clr_error *err)
{
    size_t at = 0;
    while (at < len) {
        const char *name = buf + at;
        size_t nl = strnlen(name, len - at);
        uint64_t size;
        if (nl == len - at || at + nl + 1 + sizeof size > len)
            return clr_fail(err, CLR_EFAIL, "fleet: a rank's files arrived cut short");
        memcpy(&size, name + nl + 1, sizeof size);
        const char *bytes = name + nl + 1 + sizeof size;
        if (size > len - (size_t)(bytes - buf))
            return clr_fail(err, CLR_EFAIL, "fleet: a rank's files arrived cut short");
        if (!safe_relative(name))
            return clr_fail(err, CLR_EFAIL, "fleet: a rank sent a path outside its folder");
        char path[PATH_MAX], dir[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s/%s", root, label, name) >= (int)sizeof path)
            return clr_fail(err, CLR_EUSAGE, "fleet: the path of %s under --out is too long", name);
        snprintf(dir, sizeof dir, "%s", path);
        *strrchr(dir, '/') = '\0';
        if (clr_prepare_out_dir(dir, err) || clr_batch_add(batch, path, bytes, (size_t)size, err))
            return err->code;
        size_t pl = strlen(path);
        if (pl > 5 && !strcmp(path + pl - 5, ".json")) {
            char **grown = realloc(*docs, (*ndocs + 1) * sizeof *grown);
            if (!grown || !(grown[*ndocs] = clr_strdup(path))) {
                if (grown)
                    *docs = grown;
                return clr_fail(err, CLR_EFAIL, "out of host memory");
            }
            *docs = grown;
            ++*ndocs;
        }
        at = (size_t)(bytes - buf) + (size_t)size;
    }
    return CLR_OK;
}

/* A rank's state in fleet mode, from its own run to the end of the exchange. */
typedef struct fleet_state {
    clr_mpi_rank me;
    const clr_cli *cli;
    const char *root, *command_line;
    rank_head head;
    char tmp[PATH_MAX];
    int made_tmp;
} fleet_state;

static fleet_state *active_fleet; /* for clr_fleet_abandon */

/* After this rank's run (rc, and its message in mine): every rank's files to rank 0, which writes
 * them, fleet.md and the comparison. Returns the fleet's status (the same on every rank). */
static int finish(fleet_state *f, int rc, const clr_error *mine, clr_error *err)
{
    int rank = f->me.rank, size = f->me.size;
    const char *root = f->root;
    packed files = {0};
    /* A run that failed validation still wrote its documents: they travel too. A timed-out run
     * (abandoned) sends nothing. */
    if (f->made_tmp) {
        clr_error perr = {0};
        if (f->head.rc != -1 && pack_tree(&files, f->tmp, "", &perr)) {
            files.len = 0; /* a partial set is no set */
            if (rc == CLR_OK) {
                rc = perr.code;
                mine = &perr;
            }
        }
        remove_tree(f->tmp);
    }
    f->head.rc = rc;
    if (rc)
        snprintf(f->head.msg, sizeof f->head.msg, "%.1000s", mine && mine->code ? mine->msg : "failed");

    quiet_barrier();
    /* Rank 0 collects: heads, then every rank's files (all of them before anything is written,
     * so that no rank is left waiting to send). */
    rank_head *heads = rank == 0 ? calloc((size_t)size, sizeof *heads) : NULL;
    uint64_t mylen = files.len, *lens = rank == 0 ? calloc((size_t)size, sizeof *lens) : NULL;
    char **bufs = rank == 0 ? calloc((size_t)size, sizeof *bufs) : NULL;
    if (rank == 0 && (!heads || !lens || !bufs))
        MPI_Abort(MPI_COMM_WORLD, CLR_EFAIL);
    MPI_Gather(&f->head, (int)sizeof f->head, MPI_BYTE, heads, (int)sizeof f->head, MPI_BYTE, 0, MPI_COMM_WORLD);
    MPI_Gather(&mylen, 1, MPI_UINT64_T, lens, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    int status = CLR_OK;
    if (rank != 0) {
        if (mylen)
            send_all(files.buf, files.len, 0);
    } else {
        for (int q = 0; q < size; ++q) {
            bufs[q] = malloc(lens[q] ? lens[q] : 1);
            if (!bufs[q])
                MPI_Abort(MPI_COMM_WORLD, CLR_EFAIL);
            if (q == 0 && lens[q])
                memcpy(bufs[q], files.buf, lens[q]);
            else if (lens[q])
                recv_all(bufs[q], lens[q], q);
        }
        clr_file_batch batch = {0};
        char **labels = calloc((size_t)size, sizeof *labels), **docs = NULL;
        size_t ndocs = 0, with_files = 0;
        int wrc = labels ? CLR_OK : clr_fail(err, CLR_EFAIL, "out of host memory");
        for (int q = 0; q < size && wrc == CLR_OK; ++q) {
            char host[128];
            safe_name(heads[q].host, host, sizeof host);
            labels[q] = malloc(160);
            if (!labels[q]) {
                wrc = clr_fail(err, CLR_EFAIL, "out of host memory");
                break;
            }
            snprintf(labels[q], 160, "%s-rank%d", host, q);
            if (heads[q].rc) {
                heads[q].msg[sizeof heads[q].msg - 1] = '\0';
                char h[256], d[512]; /* the message came from clr_fail: already safe to print */
                fprintf(stderr, "clrepro: fleet: rank %d (host %s, %s) failed: %s\n", q,
                        clr_escape(heads[q].host, h, sizeof h),
                        heads[q].device[0] ? clr_escape(heads[q].device, d, sizeof d) : "no device", heads[q].msg);
                status = heads[q].rc;
            }
            if (!lens[q])
                continue;
            wrc = unpack(bufs[q], lens[q], root, labels[q], &batch, &docs, &ndocs, err);
            ++with_files;
        }
        for (int q = 0; q < size; ++q)
            free(bufs[q]);
        free(bufs);
        /* fleet.md: who ran what. */
        clr_text t = {0};
        clr_text_printf(&t, "# clrepro fleet\n\n- command: ");
        clr_text_md_code(&t, f->command_line ? f->command_line : "");
        clr_text_printf(&t, "\n- clrepro %s (%s); %d ranks, %zu with results\n\n| rank | host | device | driver | "
                            "folder | status |\n|---|---|---|---|---|---|\n",
                        CLREPRO_VERSION, clr_git_commit, size, with_files);
        for (int q = 0; q < size; ++q) {
            clr_text_printf(&t, "| %d |", q);
            clr_text_md_cell(&t, heads[q].host);
            clr_text_md_cell(&t, heads[q].device);
            clr_text_md_cell(&t, heads[q].driver);
            clr_text_md_cell(&t, !lens[q] || !labels || !labels[q] ? "–" : labels[q]);
            clr_text_md_cell(&t, heads[q].rc ? heads[q].msg : "ok");
            clr_text_printf(&t, "\n");
        }
        char *md = clr_text_take(&t, "fleet.md", err);
        char mdpath[PATH_MAX];
        snprintf(mdpath, sizeof mdpath, "%s/fleet.md", root);
        if (wrc == CLR_OK && !md)
            wrc = err->code;
        if (wrc == CLR_OK && with_files == 0)
            wrc = clr_fail(err, status ? status : CLR_EFAIL, "fleet: no rank has results; nothing written");
        if (wrc == CLR_OK)
            wrc = clr_prepare_out_dir(root, err);
        if (wrc == CLR_OK)
            wrc = clr_batch_add(&batch, mdpath, md, strlen(md), err);
        if (wrc == CLR_OK)
            wrc = clr_batch_commit(&batch, err);
        else
            clr_batch_abort(&batch);
        free(md);
        /* One comparison of the documents this run wrote. */
        if (wrc == CLR_OK) {
            clr_cli cmp;
            memset(&cmp, 0, sizeof cmp);
            cmp.command = CLR_CMD_COMPARE;
            char outdir[PATH_MAX];
            snprintf(outdir, sizeof outdir, "%s/compare", root);
            cmp.files = docs;
            cmp.nfiles = ndocs;
            cmp.out_dir = outdir;
            cmp.quiet = f->cli->quiet;
            wrc = clr_cmd_compare(&cmp, err);
        }
        if (wrc == CLR_OK && !f->cli->quiet) {
            char shown[1024];
            printf("fleet: %zu of %d ranks' results in %s/<host>-rank<k>/, fleet.md and compare/\n", with_files, size,
                   clr_escape(root, shown, sizeof shown));
        }
        if (wrc)
            status = wrc;
        for (size_t i = 0; i < ndocs; ++i)
            free(docs[i]);
        free(docs);
        for (int q = 0; labels && q < size; ++q)
            free(labels[q]);
        free(labels);
    }
    free(files.buf);
    free(heads);
    free(lens);
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    clr_mpi_finish(&f->me, status, err); /* each failed rank's own message is printed above */
    return status;
}

void clr_fleet_abandon(const char *msg)
{
    fleet_state *f = active_fleet;
    if (!f)
        return;
    active_fleet = NULL;
    clr_error mine = {0}, err = {0};
    clr_fail(&mine, CLR_EFAIL, "%s (the rest of this rank's run was abandoned)", msg);
    f->head.rc = -1; /* nothing of this rank's run travels */
    int status = finish(f, CLR_EFAIL, &mine, &err);
    fflush(stdout);
    fflush(stderr);
    _exit(status ? status : CLR_EFAIL); /* the hung kernel's context cannot be released */
}

int clr_fleet_run(const clr_cli *cli, const char *command_line, clr_error *err)
{
    fleet_state f;
    memset(&f, 0, sizeof f);
    f.cli = cli;
    f.command_line = command_line;
    clr_mpi_start(NULL, NULL, &f.me);
    f.root = cli->out_dir ? cli->out_dir : "results";
    snprintf(f.head.host, sizeof f.head.host, "%s", f.me.host);

    /* What is the same on every rank is checked once, by rank 0, before anything runs. */
    struct {
        int code;
        char msg[1024];
    } pre = {0, ""};
    if (f.me.rank == 0) {
        clr_error e = {0};
        if (!strcmp(f.root, "-"))
            clr_fail(&e, CLR_EUSAGE, "--out -: fleet mode writes every rank's results and a comparison into a folder; "
                                     "name one with --out DIR");
        else if (cli->resume)
            clr_fail(&e, CLR_EUSAGE, "--resume: fleet mode runs each rank in a fresh private folder, so there is no "
                                     "journal to resume; rerun without --resume");
        else
            clr_check_out_dir(f.root, strlen("compare"), &e);
        pre.code = e.code;
        snprintf(pre.msg, sizeof pre.msg, "%.1000s", e.msg);
    }
    MPI_Bcast(&pre, (int)sizeof pre, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (pre.code) {
        clr_fail(err, pre.code, "%s", pre.msg);
        clr_mpi_finish(&f.me, 1, err);
        return pre.code;
    }

    /* This rank's device, its private folder, its run. */
    clr_error mine = {0};
    int rc = CLR_OK;
    clr_device_list all = {0}, chosen = {0};
    char spec[32] = "";
    rc = clr_devices_enumerate(&all, &mine);
    if (rc == CLR_OK)
        rc = clr_cli_select_devices(cli, &all, &chosen, &mine);
    if (rc == CLR_OK && chosen.count == 0)
        rc = clr_fail(&mine, CLR_EUSAGE, "no OpenCL device matches on this host");
    if (rc == CLR_OK) {
        const clr_device *d = &chosen.items[(size_t)f.me.local_rank % chosen.count];
        snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
        snprintf(f.head.device, sizeof f.head.device, "%s", d->name);
        snprintf(f.head.driver, sizeof f.head.driver, "%s", d->driver_version);
        const char *t = getenv("TMPDIR");
        snprintf(f.tmp, sizeof f.tmp, "%s/clrepro-fleet-XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(f.tmp))
            f.made_tmp = 1;
        else
            rc = clr_fail(&mine, CLR_EFAIL, "cannot make a private folder under %s: %s", t && *t ? t : "/tmp",
                          strerror(errno));
    }
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    if (rc == CLR_OK) {
        clr_cli local = *cli;
        local.out_dir = f.tmp;
        local.device_spec = spec;
        local.device_from_env = 0;
        local.quiet = 1;
        local.no_progress = 1;
        local.in_fleet = 1;
        active_fleet = &f; /* a case that never ends: clr_fleet_abandon */
        rc = clr_cmd_run(&local, command_line, &mine);
        active_fleet = NULL;
        if (rc && !mine.code)
            clr_fail(&mine, rc, "the run failed (its messages are above)");
    }
    return finish(&f, rc, &mine, err);
}
#endif
