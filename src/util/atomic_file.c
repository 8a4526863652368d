/* Write-to-temporary-then-rename. The temporary lives in the target's own
 * directory because rename() is only atomic within one file system. */
#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/mem.h"

struct cz_afile {
  char *path; /* owned: the user's name for the file */
  char *tmp;  /* owned: the temporary beside it */
  char *dir;  /* owned: the directory to sync after the rename */
  FILE *fp;   /* owned */
};

/* Keeps ".<base>.tmp.XXXXXX" inside NAME_MAX for long base names. */
#define TMP_BASE_MAX 200

static cz_err *write_error(const char *path, int errnum) {
  return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot write: %s", path,
                    strerror(errnum));
}

/* umask() can only be read by setting it, which would briefly change it
 * for other threads creating files; Linux also reports it in /proc. */
static mode_t current_umask(void) {
  long v = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f) {
    char line[256];
    while (fgets(line, sizeof line, f)) {
      char *end;
      if (strncmp(line, "Umask:", 6) == 0) {
        v = strtol(line + 6, &end, 8);
        if (end == line + 6 || v > 0777) v = -1;
        break;
      }
    }
    fclose(f);
  }
  if (v >= 0) return (mode_t)v;
  mode_t m = umask(022);
  umask(m);
  return m;
}

cz_err *cz_afile_open(const char *path, cz_afile **out) {
  *out = NULL;
  size_t len = strlen(path);
  if (len == 0)
    return cz_err_new(CZ_EXIT_RUNTIME, "cannot write a file with no name");
  if (path[len - 1] == '/') return write_error(path, EISDIR);

  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t dir_len = (size_t)(base - path); /* includes the slash */
  size_t base_len = strlen(base);
  if (base_len > TMP_BASE_MAX) base_len = TMP_BASE_MAX;

  cz_afile *f = cz_xcalloc(1, sizeof *f);
  f->path = cz_xstrdup(path);
  if (!slash)
    f->dir = cz_xstrdup(".");
  else if (slash == path)
    f->dir = cz_xstrdup("/");
  else
    f->dir = cz_xstrndup(path, dir_len - 1);
  f->tmp = cz_asprintf("%.*s.%.*s.tmp.XXXXXX", (int)dir_len, path,
                       (int)base_len, base);

  int fd = mkstemp(f->tmp);
  if (fd < 0) {
    cz_err *e = write_error(path, errno);
    free(f->tmp);
    f->tmp = NULL;
    cz_afile_abort(f);
    return e;
  }
  /* mkstemp makes 0600; give the result the mode a plain create would,
   * or keep the mode of the file being replaced. */
  struct stat st;
  mode_t mode = (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                    ? (st.st_mode & 0777)
                    : (0644 & ~current_umask());
  if (fchmod(fd, mode) != 0 || !(f->fp = fdopen(fd, "w"))) {
    cz_err *e = write_error(path, errno);
    close(fd);
    cz_afile_abort(f);
    return e;
  }
  *out = f;
  return NULL;
}

FILE *cz_afile_stream(cz_afile *f) { return f->fp; }

static void afile_free(cz_afile *f) {
  free(f->path);
  free(f->tmp);
  free(f->dir);
  free(f);
}

cz_err *cz_afile_commit(cz_afile *f) {
  int err = 0;
  if (fflush(f->fp) != 0)
    err = errno;
  else if (ferror(f->fp))
    err = EIO; /* an earlier write failed; its errno is gone */
  else if (fsync(fileno(f->fp)) != 0)
    err = errno;
  if (fclose(f->fp) != 0 && !err) err = errno;
  f->fp = NULL;
  if (!err && rename(f->tmp, f->path) != 0) err = errno;
  if (err) {
    unlink(f->tmp);
    cz_err *e = write_error(f->path, err);
    afile_free(f);
    return e;
  }

  /* Makes the rename itself durable. A directory we may not open is left
   * to the file system; EINVAL means it does not support syncing one. */
  int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    if (fsync(dfd) != 0 && errno != EINVAL) err = errno;
    close(dfd);
  }
  cz_err *e = err ? write_error(f->path, err) : NULL;
  afile_free(f);
  return e;
}

void cz_afile_abort(cz_afile *f) {
  if (!f) return;
  if (f->fp) fclose(f->fp);
  if (f->tmp) unlink(f->tmp);
  afile_free(f);
}

cz_err *cz_write_file_atomic(const char *path, const void *data, size_t n) {
  cz_afile *f;
  cz_err *e = cz_afile_open(path, &f);
  if (e) return e;
  errno = 0;
  if (n > 0 && fwrite(data, 1, n, f->fp) != n) {
    int err = errno ? errno : EIO;
    cz_afile_abort(f);
    return write_error(path, err);
  }
  return cz_afile_commit(f);
}
