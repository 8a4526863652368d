/* The zoo's torchvision models (filled by the model zoo work). */
#include "zoo/zoo_family.h"

const cz_zoo_entry cz_zoo_family_torchvision[] = {{0}};
