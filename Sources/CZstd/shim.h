#ifndef BASTION_CZSTD_SHIM_H
#define BASTION_CZSTD_SHIM_H
#include <zstd.h>
#endif
