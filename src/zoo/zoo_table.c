/* The zoo's registry: the family tables, searched in order. */
#include <stddef.h>
#include <string.h>

#include "zoo/zoo.h"
#include "zoo/zoo_family.h"

static const cz_zoo_entry *const kFamilies[] = {
    cz_zoo_family_st, cz_zoo_family_timm, cz_zoo_family_torchvision, cz_zoo_family_pytorchcv,
};
#define N_FAMILIES (int)(sizeof kFamilies / sizeof kFamilies[0])

int cz_zoo_count(void) {
  int n = 0;
  for (int f = 0; f < N_FAMILIES; f++)
    for (const cz_zoo_entry *e = kFamilies[f]; e->name; e++) n++;
  return n;
}

const cz_zoo_entry *cz_zoo_at(int i) {
  for (int f = 0; f < N_FAMILIES; f++)
    for (const cz_zoo_entry *e = kFamilies[f]; e->name; e++)
      if (i-- == 0) return e;
  return NULL;
}

const cz_zoo_entry *cz_zoo_find(const char *name) {
  for (int f = 0; f < N_FAMILIES; f++)
    for (const cz_zoo_entry *e = kFamilies[f]; e->name; e++)
      if (strcmp(e->name, name) == 0) return e;
  return NULL;
}
