// graft's view of OpenBLAS (Debian libopenblas-dev, pkg-config "openblas"): the CBLAS interface
// plus the thread-count controls.
#ifndef GRAFT_CBLAS_SHIM_H
#define GRAFT_CBLAS_SHIM_H
#include <cblas.h>
#endif
