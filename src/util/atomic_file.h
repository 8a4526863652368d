/* Atomic file replacement: output goes to a temporary file beside the
 * target and is renamed over it only once complete and on disk, so a crash
 * or error never leaves a half-written file under the user's name. */
#ifndef CZ_UTIL_ATOMIC_FILE_H
#define CZ_UTIL_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

/* Owned by the caller from open until exactly one of commit or abort. */
typedef struct cz_afile cz_afile;

/* Creates ".<basename>.tmp.XXXXXX" in path's directory. The final file gets
 * the mode a plain create would give (0644 less the umask), or keeps the
 * permission bits of the file it replaces. */
cz_err *cz_afile_open(const char *path, cz_afile **out);

/* The stream to write to; owned by f, do not fclose it. */
FILE *cz_afile_stream(cz_afile *f);

/* Flushes and syncs the data, renames it over path and syncs the directory.
 * On failure the temporary file is removed and path is left as it was.
 * Always frees f. */
cz_err *cz_afile_commit(cz_afile *f);

/* Discards everything written: removes the temporary file, frees f. */
void cz_afile_abort(cz_afile *f);

/* Writes data[0..n) to path atomically. */
cz_err *cz_write_file_atomic(const char *path, const void *data, size_t n);

#endif
