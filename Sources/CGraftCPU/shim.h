// graft's view of the CPU's instruction-set extensions, for dispatching its own SIMD kernels at
// run time (the binary runs on plain x86-64 too). __builtin_cpu_supports reads CPUID and, for
// AVX and its successors, checks with XGETBV that the operating system saves the YMM registers.
#ifndef GRAFT_CCPU_SHIM_H
#define GRAFT_CCPU_SHIM_H

/// 1 when the CPU and the operating system support what code compiled for Haswell
/// (`-target-cpu haswell`, x86-64-v3) may contain: AVX2 and FMA, and the scalar extensions the
/// compiler may also pick (BMI1/2, LZCNT, POPCNT, MOVBE, F16C); else 0.
static inline int graft_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
        && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("lzcnt")
        && __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("movbe") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

/// 1 when, beyond `graft_cpu_has_avx2_fma`, the CPU and the operating system support what code
/// compiled for Skylake-SP (`-target-cpu skylake-avx512`) may contain: AVX-512 F, CD, BW, DQ and
/// VL (__builtin_cpu_supports checks with XGETBV that the ZMM and mask registers are saved).
static inline int graft_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return graft_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

#endif
