// graft's view of the CPU's instruction-set extensions, for dispatching its own SIMD kernels at
// run time (the binary runs on plain x86-64 too). __builtin_cpu_supports reads CPUID and, for
// AVX and its successors, checks with XGETBV that the operating system saves the YMM registers.
#ifndef GRAFT_CCPU_SHIM_H
#define GRAFT_CCPU_SHIM_H

/// 1 when the CPU and the operating system support AVX2 and FMA (x86-64-v3's vector set), else 0.
static inline int graft_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#endif
