internal import CGraftDNNL

/// A oneDNN call that failed, with the library's own status text.
public struct DNNLError: Error, Sendable, CustomStringConvertible {
    /// The C function that failed.
    public var call: String
    /// oneDNN's name for the status (`invalid_arguments`, `unimplemented`, …).
    public var status: String

    public var description: String { "oneDNN \(call) failed: \(status)" }
}

/// The one checking helper: throws with oneDNN's status text unless `status` is success.
@inline(__always)
func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) throws(DNNLError) {
    guard status != dnnl_success else { return }
    throw DNNLError(call: call(), status: String(cString: dnnl_status2str(status)))
}

/// The CPU engine and the stream every primitive runs on, created once per process.
///
/// oneDNN's CPU engine in Debian's build runs its threads with OpenMP; `run` sets the OpenMP
/// thread count of the calling thread before each primitive, so a primitive uses exactly the
/// threads its caller was given.
final class Context: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    static let shared: Result<Context, DNNLError> = Result { () throws(DNNLError) -> Context in try Context() }

    private init() throws(DNNLError) {
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        var stream: dnnl_stream_t?
        try check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        self.engine = engine!
        self.stream = stream!
    }
}

/// A memory descriptor of a tensor with the given dims, format tag and element type (float32
/// unless said otherwise).
func memoryDescriptor(_ values: [Int], _ tag: dnnl_format_tag_t, _ type: dnnl_data_type_t = dnnl_f32) throws(DNNLError) -> dnnl_memory_desc_t {
    var descriptor = dnnl_memory_desc_t()
    var sizes = dims(values)
    let status = withUnsafePointer(to: &sizes) { tuple in
        tuple.withMemoryRebound(to: dnnl_dim_t.self, capacity: 12) { pointer in
            dnnl_memory_desc_init_by_tag(&descriptor, Int32(values.count), pointer, type, tag)
        }
    }
    try check(status, "dnnl_memory_desc_init_by_tag")
    return descriptor
}

/// A `dnnl_dims_t` holding `values` (at most 12).
func dims(_ values: [Int]) -> dnnl_dims_t {
    var result = dnnl_dims_t(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutablePointer(to: &result) { tuple in
        tuple.withMemoryRebound(to: dnnl_dim_t.self, capacity: 12) { pointer in
            for (index, value) in values.enumerated() { pointer[index] = dnnl_dim_t(value) }
        }
    }
    return result
}

/// Owned oneDNN handles, destroyed with their owner.
final class Handles: @unchecked Sendable {
    var primitives: [dnnl_primitive_t] = []
    var descriptors: [dnnl_primitive_desc_t] = []
    var memories: [dnnl_memory_t] = []
    var buffers: [UnsafeMutableRawPointer] = []

    deinit {
        for memory in memories { dnnl_memory_destroy(memory) }
        for primitive in primitives { dnnl_primitive_destroy(primitive) }
        for descriptor in descriptors { dnnl_primitive_desc_destroy(descriptor) }
        for buffer in buffers { buffer.deallocate() }
    }

    /// A 64-byte aligned buffer of `bytes`, freed with the handles.
    func buffer(bytes: Int) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        buffers.append(buffer)
        return buffer
    }

    func memory(_ descriptor: dnnl_memory_desc_t, engine: dnnl_engine_t, handle: UnsafeMutableRawPointer?) throws(DNNLError) -> dnnl_memory_t {
        var descriptor = descriptor
        var memory: dnnl_memory_t?
        try check(dnnl_memory_create(&memory, &descriptor, engine, handle), "dnnl_memory_create")
        memories.append(memory!)
        return memory!
    }
}

/// What oneDNN is and what it runs on, for recording which kernels computed a result.
public enum DNNLInfo {
    /// oneDNN's version, e.g. `2.6.3`.
    public static var version: String {
        let version = dnnl_version().pointee
        return "\(version.major).\(version.minor).\(version.patch)"
    }

    /// The instruction set oneDNN dispatches to on this CPU (its kernels, and so the last bits
    /// of their results, depend on it).
    public static var instructionSet: String {
        let isa = dnnl_get_effective_cpu_isa()
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_sse41, "sse41"), (dnnl_cpu_isa_avx, "avx"), (dnnl_cpu_isa_avx2, "avx2"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx512_mic, "avx512_mic"),
            (dnnl_cpu_isa_avx512_mic_4ops, "avx512_mic_4ops"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"),
        ]
        return names.first { $0.0 == isa }?.1 ?? "isa-\(isa.rawValue)"
    }

    /// Whether this CPU has native bfloat16 dot products (`avx512_bf16`: Zen 4, Cooper Lake,
    /// Sapphire Rapids and later) and oneDNN dispatches to them. Elsewhere oneDNN would emulate
    /// bf16 slowly, so graft refuses `--precision bf16` instead.
    public static var hasNativeBFloat16: Bool {
        let isa = dnnl_get_effective_cpu_isa()
        return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx
    }
}
