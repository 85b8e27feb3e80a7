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
static int unpack(const char *buf, size_t len, const char *root, const char *label, clr_file_batch *batch,
                  char (*dirs)[PATH_MAX], size_t *ndirs, size_t maxdirs, clr_error *err)
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
        if (strstr(name, "..") || name[0] == '/')
            return clr_fail(err, CLR_EFAIL, "fleet: a rank sent a path outside its folder");
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s/%s", root, label, name);
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        size_t k = 0;
        while (k < *ndirs && strcmp(dirs[k], dir))
            ++k;
        if (k == *ndirs && *ndirs < maxdirs) {
            snprintf(dirs[(*ndirs)++], PATH_MAX, "%s", dir);
            if (clr_prepare_out_dir(dir, err))
                return err->code;
        }
        if (clr_batch_add(batch, path, bytes, (size_t)size, err))
            return err->code;
        at = (size_t)(bytes - buf) + (size_t)size;
    }
    return CLR_OK;
}

int clr_fleet_run(const clr_cli *cli, const char *command_line, clr_error *err)
{
    int provided, rank, size, local_rank;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_SINGLE, &provided);
    clr_mpi_keep_plugins();
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_free(&node);
    const char *root = cli->out_dir ? cli->out_dir : "results";
    rank_head head;
    memset(&head, 0, sizeof head);
    if (gethostname(head.host, sizeof head.host) != 0)
        snprintf(head.host, sizeof head.host, "unknown");
    head.host[sizeof head.host - 1] = '\0';

    /* This rank's device, its private folder, its run. */
    clr_error mine = {0};
    int rc = CLR_OK;
    if (!strcmp(root, "-"))
        rc = clr_fail(&mine, CLR_EUSAGE, "--out -: fleet mode writes every rank's results and a comparison into a "
                                         "folder; name one with --out DIR");
    clr_device_list all = {0}, chosen = {0};
    char spec[32] = "", tmp[PATH_MAX] = "";
    if (rc == CLR_OK)
        rc = clr_devices_enumerate(&all, &mine);
    if (rc == CLR_OK)
        rc = clr_cli_select_devices(cli, &all, &chosen, &mine);
    if (rc == CLR_OK && chosen.count == 0)
        rc = clr_fail(&mine, CLR_EUSAGE, "no OpenCL device matches on this host");
    if (rc == CLR_OK) {
        const clr_device *d = &chosen.items[(size_t)local_rank % chosen.count];
        snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
        snprintf(head.device, sizeof head.device, "%s", d->name);
        snprintf(head.driver, sizeof head.driver, "%s", d->driver_version);
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/clrepro-fleet-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp))
            rc = clr_fail(&mine, CLR_EFAIL, "cannot make a private folder %s: %s", tmp, strerror(errno));
    }
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    if (rc == CLR_OK) {
        clr_cli local = *cli;
        local.out_dir = tmp;
        local.device_spec = spec;
        local.device_from_env = 0;
        local.quiet = 1;
        local.no_progress = 1;
        local.in_fleet = 1;
        rc = clr_cmd_run(&local, command_line, &mine);
        if (rc && !mine.code)
            clr_fail(&mine, rc, "the run failed (its messages are above)");
    }
    packed files = {0};
    /* A run that failed validation still wrote its documents: they travel too. */
    if (tmp[0] && strcmp(tmp + strlen(tmp) - 6, "XXXXXX")) {
        clr_error perr = {0};
        if (pack_tree(&files, tmp, "", &perr) && rc == CLR_OK) {
            rc = perr.code;
            mine = perr;
        }
        remove_tree(tmp);
    }
    head.rc = rc;
    if (rc)
        snprintf(head.msg, sizeof head.msg, "%.1000s", mine.code ? mine.msg : "failed");

    quiet_barrier();
    /* Rank 0 collects: heads, then every rank's files (all of them before anything is written,
     * so that no rank is left waiting to send). */
    rank_head *heads = rank == 0 ? calloc((size_t)size, sizeof *heads) : NULL;
    uint64_t mylen = files.len, *lens = rank == 0 ? calloc((size_t)size, sizeof *lens) : NULL;
    char **bufs = rank == 0 ? calloc((size_t)size, sizeof *bufs) : NULL;
    if (rank == 0 && (!heads || !lens || !bufs))
        MPI_Abort(MPI_COMM_WORLD, CLR_EFAIL);
    MPI_Gather(&head, (int)sizeof head, MPI_BYTE, heads, (int)sizeof head, MPI_BYTE, 0, MPI_COMM_WORLD);
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
            if (q == 0)
                memcpy(bufs[q], files.buf, lens[q]);
            else if (lens[q])
                recv_all(bufs[q], lens[q], q);
        }
        clr_file_batch batch = {0};
        char (*dirs)[PATH_MAX] = calloc(1024, sizeof *dirs);
        char **labels = calloc((size_t)size, sizeof *labels);
        size_t ndirs = 0, ok = 0;
        int wrc = dirs && labels ? CLR_OK : clr_fail(err, CLR_EFAIL, "out of host memory");
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
                fprintf(stderr, "clrepro: fleet: rank %d (host %s, %s) failed: %s\n", q, heads[q].host,
                        heads[q].device[0] ? heads[q].device : "no device", heads[q].msg);
                status = heads[q].rc;
            }
            if (!lens[q])
                continue;
            wrc = unpack(bufs[q], lens[q], root, labels[q], &batch, dirs, &ndirs, 1024, err);
            ++ok;
        }
        for (int q = 0; q < size; ++q)
            free(bufs[q]);
        free(bufs);
        /* fleet.md: who ran what. */
        clr_text t = {0};
        clr_text_printf(&t, "# clrepro fleet\n\n- command: ");
        clr_text_md_code(&t, command_line ? command_line : "");
        clr_text_printf(&t, "\n- %d ranks, %zu with results\n\n| rank | host | device | driver | folder | status |\n"
                            "|---|---|---|---|---|---|\n", size, ok);
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
        if (wrc == CLR_OK && ok == 0)
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
        /* One comparison of every rank's documents. */
        if (wrc == CLR_OK) {
            clr_cli cmp;
            memset(&cmp, 0, sizeof cmp);
            cmp.command = CLR_CMD_COMPARE;
            char **paths = calloc((size_t)size, sizeof *paths), outdir[PATH_MAX];
            size_t np = 0;
            for (int q = 0; paths && q < size; ++q)
                if (lens[q] && labels[q]) {
                    paths[np] = malloc(PATH_MAX);
                    if (paths[np])
                        snprintf(paths[np++], PATH_MAX, "%s/%s", root, labels[q]);
                }
            snprintf(outdir, sizeof outdir, "%s/compare", root);
            cmp.files = paths;
            cmp.nfiles = np;
            cmp.out_dir = outdir;
            cmp.quiet = cli->quiet;
            wrc = paths ? clr_cmd_compare(&cmp, err) : clr_fail(err, CLR_EFAIL, "out of host memory");
            for (size_t i = 0; paths && i < np; ++i)
                free(paths[i]);
            free(paths);
        }
        if (wrc == CLR_OK && !cli->quiet) {
            char shown[1024];
            printf("fleet: %zu of %d ranks' results in %s/<host>-rank<k>/, fleet.md and compare/\n", ok, size,
                   clr_escape(root, shown, sizeof shown));
        }
        if (wrc)
            status = wrc;
        for (int q = 0; labels && q < size; ++q)
            free(labels[q]);
        free(labels);
        free(dirs);
    }
    free(files.buf);
    free(heads);
    free(lens);
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    /* Rank 0 says what failed before any rank exits (a launcher may stop the job at the first
     * non-zero exit). Each failed rank's own message is printed above. */
    if (rank == 0 && status && err->code) {
        fprintf(stderr, "clrepro: error: %s\n", err->msg);
        fflush(stderr);
    }
    fflush(stdout);
    err->code = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    clr_mpi_keep_plugins();
    MPI_Finalize();
    return status;
}
#endif
