#ifndef BASTION_CLIBUV_SHIM_H
#define BASTION_CLIBUV_SHIM_H
#include <uv.h>
#endif
