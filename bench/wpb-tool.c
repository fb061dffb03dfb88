/*
 * wpb-tool.c - the walker/reader/creator behind wp-bench.sh (which compiles it on first use).
 * Nothing here is specific to any filesystem; it only uses POSIX calls.
 *
 *   wpb-tool now                          print CLOCK_MONOTONIC seconds
 *   wpb-tool statall DIR                  readdir-walk DIR, stat() every entry by full path
 *   wpb-tool readall DIR                  readdir-walk DIR, open+read fully+close every regular file
 *   wpb-tool phplike LISTFILE ROUNDS      ROUNDS x (open+read fully+close) of every path in LISTFILE
 *   wpb-tool mkfiles DIR NFILES NDIRS SZ  mkdir DIR/dNNN, create NFILES files of SZ bytes round-robin
 *   wpb-tool statfiles DIR NFILES NDIRS   stat() every file made by mkfiles
 *   wpb-tool rmfiles DIR NFILES NDIRS     unlink every file made by mkfiles, rmdir the dirs
 *
 * Every command prints "key=value ..." on stdout and exits non-zero on the first error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 17];
static unsigned long long n_files, n_dirs, n_other, n_bytes;

static void die(const char *what, const char *path) {
    fprintf(stderr, "wpb-tool: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void read_file(const char *p) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) die("open", p);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0) die("read", p);
        if (r == 0) break;
        n_bytes += (unsigned long long)r;
    }
    if (close(fd) < 0) die("close", p);
}

/* mode 0: stat every entry; mode 1: read every regular file */
static void walk(const char *dir, int mode) {
    DIR *d = opendir(dir);
    if (!d) die("opendir", dir);
    struct dirent *e;
    char p[PATH_MAX];
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        int isdir, isreg;
        if (mode == 0 || e->d_type == DT_UNKNOWN) {
            if (lstat(p, &st) < 0) die("lstat", p);
            isdir = S_ISDIR(st.st_mode);
            isreg = S_ISREG(st.st_mode);
        } else {
            isdir = e->d_type == DT_DIR;
            isreg = e->d_type == DT_REG;
        }
        if (isdir) {
            n_dirs++;
            walk(p, mode);
        } else if (isreg) {
            n_files++;
            if (mode == 1) read_file(p);
        } else {
            n_other++;
        }
        errno = 0;
    }
    if (errno) die("readdir", dir);
    closedir(d);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: see header of wpb-tool.c\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "now")) {
        printf("%.6f\n", mono());
        return 0;
    }
    if (!strcmp(cmd, "statall") && argc == 3) {
        walk(argv[2], 0);
        printf("files=%llu dirs=%llu other=%llu\n", n_files, n_dirs, n_other);
        return 0;
    }
    if (!strcmp(cmd, "readall") && argc == 3) {
        walk(argv[2], 1);
        printf("files=%llu dirs=%llu other=%llu bytes=%llu\n", n_files, n_dirs, n_other, n_bytes);
        return 0;
    }
    if (!strcmp(cmd, "phplike") && argc == 4) {
        FILE *f = fopen(argv[2], "r");
        if (!f) die("fopen", argv[2]);
        char **paths = NULL;
        size_t n = 0, cap = 0;
        char line[PATH_MAX];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (!line[0]) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                paths = realloc(paths, cap * sizeof *paths);
            }
            paths[n++] = strdup(line);
        }
        fclose(f);
        int rounds = atoi(argv[3]);
        double worst = 0, first = 0;
        for (int r = 0; r < rounds; r++) {
            double t0 = mono();
            for (size_t i = 0; i < n; i++) {
                read_file(paths[i]);
                n_files++;
            }
            double dt = mono() - t0;
            if (r == 0) first = dt;
            if (dt > worst) worst = dt;
        }
        printf("opens=%llu bytes=%llu list=%zu first_round_s=%.6f worst_round_s=%.6f\n",
               n_files, n_bytes, n, first, worst);
        return 0;
    }
    if ((!strcmp(cmd, "mkfiles") && argc == 6) ||
        (!strcmp(cmd, "statfiles") && argc == 5) ||
        (!strcmp(cmd, "rmfiles") && argc == 5)) {
        const char *dir = argv[2];
        long nfiles = atol(argv[3]), ndirs = atol(argv[4]);
        char p[PATH_MAX];
        if (ndirs < 1) ndirs = 1;
        if (cmd[0] == 'm') {
            long sz = atol(argv[5]);
            memset(buf, 'x', sizeof buf);
            if (mkdir(dir, 0755) < 0 && errno != EEXIST) die("mkdir", dir);
            for (long d = 0; d < ndirs; d++) {
                snprintf(p, sizeof p, "%s/d%03ld", dir, d);
                if (mkdir(p, 0755) < 0) die("mkdir", p);
            }
            for (long i = 0; i < nfiles; i++) {
                snprintf(p, sizeof p, "%s/d%03ld/f%06ld", dir, i % ndirs, i);
                int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
                if (fd < 0) die("create", p);
                long left = sz;
                while (left > 0) {
                    ssize_t w = write(fd, buf, left > (long)sizeof buf ? (long)sizeof buf : left);
                    if (w <= 0) die("write", p);
                    left -= w;
                }
                if (close(fd) < 0) die("close", p);
            }
            printf("created=%ld dirs=%ld size=%ld\n", nfiles, ndirs, sz);
        } else if (cmd[0] == 's') {
            struct stat st;
            for (long i = 0; i < nfiles; i++) {
                snprintf(p, sizeof p, "%s/d%03ld/f%06ld", dir, i % ndirs, i);
                if (stat(p, &st) < 0) die("stat", p);
            }
            printf("stated=%ld\n", nfiles);
        } else {
            for (long i = 0; i < nfiles; i++) {
                snprintf(p, sizeof p, "%s/d%03ld/f%06ld", dir, i % ndirs, i);
                if (unlink(p) < 0) die("unlink", p);
            }
            for (long d = 0; d < ndirs; d++) {
                snprintf(p, sizeof p, "%s/d%03ld", dir, d);
                if (rmdir(p) < 0) die("rmdir", p);
            }
            if (rmdir(dir) < 0) die("rmdir", dir);
            printf("removed=%ld dirs=%ld\n", nfiles, ndirs);
        }
        return 0;
    }
    fprintf(stderr, "wpb-tool: bad command line (see header of wpb-tool.c)\n");
    return 2;
}
