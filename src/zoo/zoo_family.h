/* The family tables of the zoo (one per reference source), each ending
 * with a {NULL} row. */
#ifndef CZ_ZOO_ZOO_FAMILY_H
#define CZ_ZOO_ZOO_FAMILY_H
#include "zoo/zoo.h"

extern const cz_zoo_entry cz_zoo_family_st[];          /* zoo_st.c */
extern const cz_zoo_entry cz_zoo_family_timm[];        /* zoo_timm.c */
extern const cz_zoo_entry cz_zoo_family_torchvision[]; /* zoo_torchvision.c */
extern const cz_zoo_entry cz_zoo_family_pytorchcv[];   /* zoo_pytorchcv.c */
#endif
