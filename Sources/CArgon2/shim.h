#ifndef BASTION_CARGON2_SHIM_H
#define BASTION_CARGON2_SHIM_H
#include <argon2.h>
#endif
