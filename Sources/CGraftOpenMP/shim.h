// graft's view of libgomp, GCC's OpenMP runtime, which Debian's oneDNN runs its CPU threads on.
// graft runs its own parallel loops on the same OpenMP thread team, so that one pool of
// `--threads` threads serves oneDNN's primitives and graft's kernels alike.
//
// GOMP_parallel is the entry point GCC compiles `#pragma omp parallel` to (libgomp's ABI since
// GCC 4.9, symbol version GOMP_4.0): it runs fn(data) on a team of up to num_threads threads, the
// calling thread included, and returns when all have finished. It has no header of its own; the
// prototype below is its ABI.
#ifndef GRAFT_COPENMP_SHIM_H
#define GRAFT_COPENMP_SHIM_H

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
void omp_set_num_threads(int);

/// Runs `body(context)` on an OpenMP team of up to `threads` threads (the caller is thread 0).
static inline void graft_omp_parallel(void (*body)(void *), void *context, unsigned threads) {
    GOMP_parallel(body, context, threads, 0);
}

/// The calling thread's number within its team (0 outside a parallel region).
static inline int graft_omp_thread_number(void) { return omp_get_thread_num(); }

/// The team size of the calling thread's next parallel regions (oneDNN's included).
static inline void graft_omp_set_threads(int threads) { omp_set_num_threads(threads); }

#endif
