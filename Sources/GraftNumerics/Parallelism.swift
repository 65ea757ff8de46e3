internal import CGraftBLAS
/// Process-wide settings of graft's parallelism.
public enum Parallelism {
    /// Sets OpenBLAS to run single-threaded inside each call.
    ///
    /// graft cuts its matrix products into blocks itself (`parallelProduct`) and runs them on its
    /// own threads; OpenBLAS threads on top of those would spin against them on small machines,
    /// and a product OpenBLAS split by its own thread count would no longer be bit-identical
    /// across thread counts. The setting is process-wide and cheap to repeat: the inference
    /// session calls this before every run and head training at its start, in case a library
    /// loaded meanwhile changed it.
    public static func configureOpenBLAS() {
        openblas_set_num_threads(1)
    }
}
