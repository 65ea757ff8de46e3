internal import CGraftCPU
import Foundation

/// The instruction-set extensions graft's own SIMD kernels may use on this machine.
///
/// The binary is built for plain x86-64; kernels compiled for a newer instruction set (the
/// `GraftAVX2Kernels` module) are called only when this says the CPU and the operating system
/// support it. `GRAFT_AVX2=0` in the environment turns them off (for comparing the paths, or for
/// reproducing on an AVX2 machine the results an older one gives).
public enum CPUFeatures {
    /// AVX2 and FMA (x86-64-v3's vector instructions): Intel since Haswell (2013), AMD since
    /// Excavator and every Zen.
    public static let hasAVX2: Bool =
        graft_cpu_has_avx2_fma() != 0 && ProcessInfo.processInfo.environment["GRAFT_AVX2"] != "0"

    /// AVX-512 F, CD, BW, DQ and VL on top of `hasAVX2` (Intel since Skylake-SP, AMD since Zen 4),
    /// for the `GraftAVX512Kernels` module. `GRAFT_AVX512=0` (or `GRAFT_AVX2=0`) turns it off.
    /// Its kernels give the same bits as their AVX2 counterparts, so this changes speed only.
    public static let hasAVX512: Bool =
        hasAVX2 && graft_cpu_has_avx512() != 0 && ProcessInfo.processInfo.environment["GRAFT_AVX512"] != "0"
}
