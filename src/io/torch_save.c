/* Writing torch.save zip files (torch_file.h): the records torch 1.13's
 * PyTorchStreamWriter writes — archive/data.pkl, archive/data/<key> per
 * storage, archive/version ("3\n") — each stored and 64-byte aligned. */
#include <stdio.h>
#include <stdlib.h>

#include "io/pickle_write.h"
#include "io/torch_file.h"
#include "io/zip_write.h"
#include "util/atomic_file.h"
#include "util/mem.h"

cz_err *cz_torch_save(const char *path, const cz_pyval *root) {
  cz_strbuf pkl;
  cz_sb_init(&pkl);
  const cz_pyval **t = NULL;
  int nt = 0;
  cz_err *e = cz_pickle_write(root, path, &pkl, &t, &nt);
  cz_afile *f = NULL;
  if (!e) e = cz_afile_open(path, &f);
  if (!e) {
    cz_zipw *z = cz_zipw_new(cz_afile_stream(f), path);
    e = cz_zipw_add(z, "archive/data.pkl", pkl.data, pkl.len);
    for (int i = 0; i < nt && !e; i++) {
      char name[40];
      snprintf(name, sizeof name, "archive/data/%d", i);
      const cz_named_tensor *x = &t[i]->tensor;
      e = cz_zipw_add(z, name, x->data, (size_t)cz_shape_numel(&x->shape) * cz_dtype_size(x->dtype));
    }
    if (!e) e = cz_zipw_add(z, "archive/version", "3\n", 2);
    if (e) {
      cz_zipw_free(z);
      cz_afile_abort(f);
    } else {
      e = cz_zipw_finish(z);
      if (e)
        cz_afile_abort(f);
      else
        e = cz_afile_commit(f);
    }
  }
  free(t);
  cz_sb_free(&pkl);
  return e;
}
