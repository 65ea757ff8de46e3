// graft's view of oneDNN 2.6 (Debian libdnnl-dev; it ships no pkg-config file, so the module map
// links "dnnl" by name). DNNL_ARG_* and DNNL_RUNTIME_* are macros Swift cannot import; each is
// wrapped here in a prefixed static inline function. oneDNN's CPU engine runs its threads with
// OpenMP (libgomp); CGraftOpenMP wraps that, and GraftNumerics' Parallelism sets its thread count.
#ifndef GRAFT_CDNNL_SHIM_H
#define GRAFT_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

static inline int graft_dnnl_arg_src(void) { return DNNL_ARG_SRC; }
static inline int graft_dnnl_arg_dst(void) { return DNNL_ARG_DST; }
static inline int graft_dnnl_arg_weights(void) { return DNNL_ARG_WEIGHTS; }
static inline int graft_dnnl_arg_bias(void) { return DNNL_ARG_BIAS; }
static inline int graft_dnnl_arg_from(void) { return DNNL_ARG_FROM; }
static inline int graft_dnnl_arg_to(void) { return DNNL_ARG_TO; }
static inline int graft_dnnl_arg_scratchpad(void) { return DNNL_ARG_SCRATCHPAD; }
static inline int graft_dnnl_arg_depthwise_weights(void) { return DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS; }
static inline int graft_dnnl_arg_depthwise_bias(void) { return DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS; }

#endif
