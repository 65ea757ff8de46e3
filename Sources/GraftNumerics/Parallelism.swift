internal import CGraftBLAS
internal import CGraftOpenMP
/// Process-wide settings of graft's parallelism: the one place where thread counts are set.
///
/// graft runs on one pool of threads, libgomp's OpenMP team: oneDNN's primitives run on it (Debian's
/// oneDNN is built on OpenMP), and so do graft's own parallel loops (`parallelFor`,
/// `parallelItems`, `parallelProduct`), through `GOMP_parallel`. OpenBLAS stays single-threaded
/// inside them. So at most `threads` threads compute at any time, whichever library's kernel is
/// running.
///
/// Why one pool: after a parallel region OpenMP's workers spin for a while (libgomp's default
/// wait policy) before they sleep, so that the next region starts without a wake-up. When
/// graft's kernels ran on a second pool (Dispatch), those spinning workers took the cores from
/// them: ResNet50 at batch 8 with 2 threads spent 75–114 ms in graft's Winograd layers between
/// oneDNN's 1×1 convolutions, against 44–55 ms with `OMP_WAIT_POLICY=PASSIVE`. On one pool the
/// spinning workers are the ones that take the next region, graft's or oneDNN's.
public enum Parallelism {
    /// Sets the size of the calling thread's OpenMP team (oneDNN's primitives and graft's loops
    /// started from this thread) and keeps OpenBLAS single-threaded.
    ///
    /// OpenBLAS threads on top of graft's would oversubscribe the cores, and a product OpenBLAS
    /// split by its own thread count would no longer be bit-identical across thread counts
    /// (graft cuts its products by shape, see `ProductSplit`). The settings are cheap to repeat:
    /// the inference session calls this before every run and head training at its start, in case
    /// a library loaded meanwhile changed them. OpenMP's team size is a per-thread setting, so it
    /// holds for the thread that calls this.
    public static func configure(threads: Int) {
        openblas_set_num_threads(1)
        graft_omp_set_threads(Int32(max(1, threads)))
    }
}

/// Runs `body(worker)` once on each thread of an OpenMP team of up to `threads` threads (the
/// calling thread is worker 0) and returns when all have finished. The team may be smaller than
/// asked (inside another parallel region it is one thread), so callers hand out work with a
/// shared counter rather than by worker number.
func onTeam(threads: Int, _ body: (_ worker: Int) -> Void) {
    withoutActuallyEscaping(body) { escapable in
        var context = TeamContext(body: escapable)
        withUnsafeMutablePointer(to: &context) { pointer in
            graft_omp_parallel({ raw in
                let context = raw!.assumingMemoryBound(to: TeamContext.self)
                context.pointee.body(Int(graft_omp_thread_number()))
            }, pointer, UInt32(threads))
        }
    }
}

/// The closure a team runs, passed to libgomp as its `void *` argument.
private struct TeamContext {
    let body: (Int) -> Void
}
