/* Crash-proof check of an untrusted HDF5 file. libhdf5 1.10 can itself crash (memcpy with a
 * corrupt length in H5HG_read, bad object-header messages) or loop on a file whose metadata was
 * damaged, and no check of ours can run before the library parses that metadata. So the probe
 * walks all of the file's metadata in a forked child: if the child dies or hangs, the parent
 * reports a clear error instead of dying with it. When the probe passes, the same reader calls
 * made in-process parse the same bytes the same way, and bulk data reads only touch contiguous
 * data already checked to lie inside the file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "h5raw.h"
#include "lt_error.h"

#define TRUTH_BATCH 4096U
/* Growth cap of the probe child's data memory: far above what reading any valid file needs
 * (record lists, listings, attribute strings, HDF5's caches), far below what a damaged size
 * field can make libhdf5 try to allocate, which would otherwise summon the OOM killer. The cap
 * is added to what the child already has mapped, so it works under ASan too (whose shadow
 * memory is terabytes of reserved data mappings). */
#define PROBE_DATA_GROWTH (2ULL << 30)

/* Current size of this process's data mappings (VmData), or 0 when unknown. */
static unsigned long long vm_data_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %llu kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024ULL;
}

/* Everything lt_h5r_* parses: records, RawData listings (with the source_id_path_map check),
 * record headers, every fragment header, the /Truth table. */
static int walk(const char *path, char *err, size_t errlen)
{
    struct lt_h5r *r;
    int rc = lt_h5r_open(&r, path, err, errlen);
    if (rc < 0) return rc;
    int timeslice = lt_h5r_attrs(r)->record_type == LT_H5_TIMESLICE;
    for (size_t i = 0; rc == 0 && i < lt_h5r_record_count(r); i++) {
        struct lt_h5_dataset_info *ds;
        size_t n;
        if ((rc = lt_h5r_list_datasets(r, i, &ds, &n, err, errlen)) < 0) break;
        for (size_t k = 0; rc == 0 && k < n; k++) {
            struct lt_fragment_header h;
            if (ds[k].kind == LT_H5_DS_FRAGMENT)
                rc = lt_h5r_read_fragment_header(r, i, ds[k].name, &h, err, errlen);
        }
        free(ds);
        if (rc < 0) break;
        if (timeslice) {
            struct lt_timeslice_header tsh;
            rc = lt_h5r_read_tsh(r, i, &tsh, err, errlen);
        } else {
            struct lt_trigger_record_header trh;
            size_t ncr = 0;
            rc = lt_h5r_read_trh(r, i, &trh, NULL, 0, &ncr, err, errlen);
            if (rc == LT_ESHORT) {
                struct lt_component_request *cr = calloc(ncr, sizeof *cr);
                rc = cr ? lt_h5r_read_trh(r, i, &trh, cr, ncr, &ncr, err, errlen) : LT_ENOMEM;
                free(cr);
            }
        }
    }
    size_t nt = 0;
    if (rc == 0) rc = lt_h5r_truth_count(r, &nt, err, errlen);
    if (rc == 0 && nt) {
        struct lt_truth *rows = malloc(TRUTH_BATCH * sizeof *rows);
        if (!rows) rc = LT_ENOMEM;
        for (size_t first = 0; rc == 0 && first < nt; first += TRUTH_BATCH)
            rc = lt_h5r_read_truth(
                r, first, rows, nt - first < TRUTH_BATCH ? nt - first : TRUTH_BATCH, err, errlen);
        free(rows);
    }
    lt_h5r_close(r);
    return rc;
}

struct probe_report {
    int rc;
    char msg[1024];
};

int lt_h5r_probe(const char *path, unsigned timeout_s, int *unsafe, char *err, size_t errlen)
{
    if (unsafe) *unsafe = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        lt_seterr(err, errlen, "%s: /: cannot probe (pipe: %s)", path, strerror(errno));
        return LT_EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        lt_seterr(err, errlen, "%s: /: cannot probe (fork: %s)", path, strerror(errno));
        return LT_EIO;
    }
    if (pid == 0) {
        /* Child: no stdio, no atexit handlers (HDF5's would flush the parent's open files). */
        close(fds[0]);
        signal(SIGPIPE, SIG_DFL);
        struct rlimit nocore = {0, 0};
        (void)setrlimit(RLIMIT_CORE, &nocore); /* a crash here is expected, not a core file */
        alarm(timeout_s ? timeout_s : 60);
        unsigned long long data = vm_data_bytes();
        if (data) {
            /* Best effort: without the cap the probe still contains crashes, only not hogs. */
            struct rlimit lim = {data + PROBE_DATA_GROWTH, data + PROBE_DATA_GROWTH};
            (void)setrlimit(RLIMIT_DATA, &lim);
        }
        struct probe_report rep;
        memset(&rep, 0, sizeof rep);
        rep.rc = walk(path, rep.msg, sizeof rep.msg);
        ssize_t w = write(fds[1], &rep, sizeof rep);
        _exit(w == (ssize_t)sizeof rep ? 0 : 3);
    }
    close(fds[1]);
    struct probe_report rep;
    size_t got = 0;
    while (got < sizeof rep) {
        ssize_t n = read(fds[0], (char *)&rep + got, sizeof rep - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got == sizeof rep && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (rep.rc < 0) {
            rep.msg[sizeof rep.msg - 1] = '\0';
            lt_seterr(err, errlen, "%s", rep.msg);
        }
        return rep.rc < 0 ? rep.rc : 0;
    }
    if (unsafe) *unsafe = 1;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        lt_seterr(err, errlen,
                  "%s: /: reading the file's metadata did not finish within %u s: corrupt file "
                  "(HDF5 looping on damaged metadata?)",
                  path, timeout_s ? timeout_s : 60);
    else if (WIFSIGNALED(status))
        lt_seterr(err, errlen,
                  "%s: /: the HDF5 library crashed (signal %d, %s) reading the file's metadata: "
                  "the file is corrupt",
                  path, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        lt_seterr(err, errlen,
                  "%s: /: the HDF5 library failed (exit status %d) reading the file's metadata: "
                  "the file is corrupt",
                  path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return LT_EFORMAT;
}
