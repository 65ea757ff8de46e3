import GraftProtobuf
internal import CGraftONNXProto
internal import CGraftProtobufC
import GraftSupport

/// Decodes an ONNX file's bytes into a `ModelRecord`.
///
/// `ModelProto` and `GraphProto` are walked field by field here; protobuf-c decodes each node,
/// each value description and each tensor's header (the tensor minus its `raw_data` and packed
/// `float_data`, whose bytes stay in the mapped file and are located, not copied). Every length
/// is checked against the bytes present before anything is read or allocated.
enum ModelDecoder {
    /// Whether `bytes` start like an ONNX model: the first field is `ir_version` (field 1, a
    /// varint between 1 and 1000) and the fields after it, within the first 64 KiB, are valid
    /// protobuf. A Caffe `NetParameter` never starts so (its field 1 is a string), nor does text.
    /// A file cut off after its first fields still counts, so that its error says where it ends.
    static func looksLikeONNX(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var scanner = WireReader(bytes, range: 0..<min(bytes.count, 1 << 16))
        guard let first = try? scanner.next(), first.number == 1, first.wireType == .varint,
              (1...1000).contains(first.varint) else { return false }
        var seen = 1
        while seen < 8 {
            do {
                guard let field = try scanner.next() else { return true }
                guard field.number <= 100 else { return false }
                seen += 1
            } catch {
                // A field cut off by the 64 KiB window (or by the file's end) is fine once the
                // start has been seen to be a model.
                return seen >= 2 || bytes.count <= 1 << 16
            }
        }
        return true
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws(ONNXImportError) -> ModelRecord {
        let topFields = try fields(bytes, 0..<bytes.count, file: file)
        var rest = FieldCollector()
        var graphRange: Range<Int>?
        for field in topFields {
            if field.number == 7 && field.wireType == .lengthDelimited {
                graphRange = field.valueRange
            } else {
                rest.append(field, from: bytes)
            }
        }
        guard let graphRange else { throw .notONNX(file: file) }
        guard let header = UnpackedMessage<Onnx__ModelProto>.unpack(rest.bytes, descriptor: graft_onnx_model_descriptor()) else {
            throw .undecodable(file: file, part: "the model's fields (ir_version, opset_import, producer)")
        }
        let model = header.value
        var opsets: [String: Int] = [:]
        for opset in messages(model.opset_import, count: model.n_opset_import) {
            var domain = string(opset.pointee.domain)
            if domain == "ai.onnx" { domain = "" }
            opsets[domain] = Int(opset.pointee.version)
        }
        var record = ModelRecord(irVersion: Int(model.ir_version), producerName: string(model.producer_name),
                                 producerVersion: string(model.producer_version), opsets: opsets, graphName: "",
                                 nodes: [], initializers: [], inputs: [], outputs: [])
        try decodeGraph(bytes, range: graphRange, file: file, into: &record)
        return record
    }

    private static func fields(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, file: String) throws(ONNXImportError) -> [WireField] {
        do {
            return try WireReader.fields(of: bytes, range: range)
        } catch {
            throw .malformed(file: file, offset: error.offset, reason: error.reason)
        }
    }

    private static func decodeGraph(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, file: String,
                                    into record: inout ModelRecord) throws(ONNXImportError) {
        for field in try fields(bytes, range, file: file) {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited):
                let index = record.nodes.count
                guard let node = UnpackedMessage<Onnx__NodeProto>.unpack(bytes, range: field.valueRange, descriptor: graft_onnx_node_descriptor()) else {
                    throw .undecodable(file: file, part: "graph.node[\(index)]")
                }
                record.nodes.append(try nodeRecord(node.value, index: index, file: file))
            case (2, .lengthDelimited):
                record.graphName = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.valueRange]), as: UTF8.self)
            case (5, .lengthDelimited):
                record.initializers.append(try initializer(bytes, range: field.valueRange, index: record.initializers.count, file: file))
            case (11, .lengthDelimited), (12, .lengthDelimited):
                let list = field.number == 11 ? "input" : "output"
                guard let info = UnpackedMessage<Onnx__ValueInfoProto>.unpack(bytes, range: field.valueRange, descriptor: graft_onnx_value_info_descriptor()) else {
                    throw .undecodable(file: file, part: "graph.\(list)[\(field.number == 11 ? record.inputs.count : record.outputs.count)]")
                }
                if field.number == 11 { record.inputs.append(valueRecord(info.value)) } else { record.outputs.append(string(info.value.name)) }
            case (1, _), (2, _), (5, _), (11, _), (12, _):
                throw .undecodable(file: file, part: "graph field \(field.number) at byte \(field.tagOffset) (wrong wire type)")
            default:
                continue
            }
        }
    }

    private static func valueRecord(_ info: Onnx__ValueInfoProto) -> ValueRecord {
        var record = ValueRecord(name: string(info.name), elementType: nil, dims: nil)
        guard let type = info.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
              let tensor = type.pointee.tensor_type else { return record }
        if tensor.pointee.has_elem_type != 0 { record.elementType = tensor.pointee.elem_type }
        if let shape = tensor.pointee.shape {
            record.dims = messages(shape.pointee.dim, count: shape.pointee.n_dim).map { dim in
                dim.pointee.value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? Int(dim.pointee.dim_value) : nil
            }
        }
        return record
    }

    private static func nodeRecord(_ node: Onnx__NodeProto, index: Int, file: String) throws(ONNXImportError) -> NodeRecord {
        var attributes: [String: AttributeValue] = [:]
        let name = string(node.name)
        for attribute in messages(node.attribute, count: node.n_attribute) {
            let value = attribute.pointee
            let key = string(value.name)
            let type = value.has_type != 0 ? value.type : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED
            switch type {
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: attributes[key] = .float(value.f)
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: attributes[key] = .int(Int(value.i))
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: attributes[key] = .string(string(value.s))
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
                guard let tensor = value.t else {
                    throw .invalidNode(file: file, node: name, op: string(node.op_type), reason: "attribute '\(quoted(key, limit: 40))' is a tensor without a value")
                }
                attributes[key] = .tensor(try tensorRecord(tensor.pointee, name: "\(name.isEmpty ? "node \(index)" : name).\(key)", file: file))
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: attributes[key] = .floats(elements(value.floats, count: value.n_floats))
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: attributes[key] = .ints(elements(value.ints, count: value.n_ints).map { Int($0) })
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: attributes[key] = .strings(elements(value.strings, count: value.n_strings).map { string($0) })
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED:
                // IR version 1 files leave the type out: infer it from the field that is set.
                if value.has_f != 0 { attributes[key] = .float(value.f) }
                else if value.has_i != 0 { attributes[key] = .int(Int(value.i)) }
                else if value.has_s != 0 { attributes[key] = .string(string(value.s)) }
                else if let tensor = value.t { attributes[key] = .tensor(try tensorRecord(tensor.pointee, name: "\(name).\(key)", file: file)) }
                else if value.n_floats > 0 { attributes[key] = .floats(elements(value.floats, count: value.n_floats)) }
                else if value.n_ints > 0 { attributes[key] = .ints(elements(value.ints, count: value.n_ints).map { Int($0) }) }
                else if value.n_strings > 0 { attributes[key] = .strings(elements(value.strings, count: value.n_strings).map { string($0) }) }
                else { attributes[key] = .other("undefined") }
            default:
                attributes[key] = .other("attribute type \(type.rawValue)")
            }
        }
        return NodeRecord(name: name, opType: string(node.op_type), domain: string(node.domain) == "ai.onnx" ? "" : string(node.domain),
                          inputs: strings(node.input, count: node.n_input), outputs: strings(node.output, count: node.n_output),
                          attributes: attributes)
    }

    /// A tensor protobuf-c has decoded whole (a Constant's value): its data is copied.
    private static func tensorRecord(_ tensor: Onnx__TensorProto, name fallback: String, file: String) throws(ONNXImportError) -> TensorRecord {
        let name = string(tensor.name).isEmpty ? fallback : string(tensor.name)
        var record = TensorRecord(name: name, dims: elements(tensor.dims, count: tensor.n_dims).map { Int($0) },
                                  dataType: tensor.has_data_type != 0 ? tensor.data_type : 0, storage: .owned([]))
        if let external = try externalLocation(tensor, name: name, file: file) {
            record.storage = external
        } else if tensor.has_raw_data != 0 {
            record.storage = .owned(tensor.raw_data.data.map { Array(UnsafeBufferPointer(start: $0, count: tensor.raw_data.len)) } ?? [])
        } else {
            record.storage = typedStorage(tensor, dataType: record.dataType)
        }
        return record
    }

    /// The values a tensor holds in its typed fields (`float_data`, `int64_data`, …).
    private static func typedStorage(_ tensor: Onnx__TensorProto, dataType: Int32) -> TensorRecord.Storage {
        switch ElementType(rawValue: dataType) {
        case .float?: return .floats(elements(tensor.float_data, count: tensor.n_float_data))
        case .double?: return .doubles(elements(tensor.double_data, count: tensor.n_double_data))
        case .int64?: return .integers(elements(tensor.int64_data, count: tensor.n_int64_data))
        case .uint64?, .uint32?: return .integers(elements(tensor.uint64_data, count: tensor.n_uint64_data).map { Int64(truncatingIfNeeded: $0) })
        case .float16?, .bfloat16?:
            // Half-precision values are stored as their bit patterns in int32_data.
            var bytes: [UInt8] = []
            for bits in elements(tensor.int32_data, count: tensor.n_int32_data) {
                bytes.append(UInt8(truncatingIfNeeded: bits))
                bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            }
            return .owned(bytes)
        default: return .integers(elements(tensor.int32_data, count: tensor.n_int32_data).map { Int64($0) })
        }
    }

    private static func externalLocation(_ tensor: Onnx__TensorProto, name: String, file: String) throws(ONNXImportError) -> TensorRecord.Storage? {
        guard tensor.has_data_location != 0, tensor.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL else { return nil }
        var entries: [String: String] = [:]
        for entry in messages(tensor.external_data, count: tensor.n_external_data) {
            entries[string(entry.pointee.key)] = string(entry.pointee.value)
        }
        guard let location = entries["location"], !location.isEmpty else {
            throw .badTensor(file: file, tensor: name, reason: "is stored externally but names no location")
        }
        func number(_ key: String) throws(ONNXImportError) -> Int? {
            guard let text = entries[key] else { return nil }
            guard let value = Int(text), value >= 0 else {
                throw .badTensor(file: file, tensor: name, reason: "has external data \(key) '\(quoted(text, limit: 30))', expected a non-negative integer")
            }
            return value
        }
        return .external(location: location, offset: try number("offset") ?? 0, length: try number("length"))
    }

    /// An initializer: its data fields are located in the mapping, the rest goes to protobuf-c.
    private static func initializer(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, index: Int, file: String) throws(ONNXImportError) -> TensorRecord {
        var rest = FieldCollector()
        var raw: Range<Int>?
        var floatRuns: [Range<Int>] = []
        for field in try fields(bytes, range, file: file) {
            switch (field.number, field.wireType) {
            case (9, .lengthDelimited): raw = field.valueRange
            case (4, .lengthDelimited): floatRuns.append(field.valueRange)
            default: rest.append(field, from: bytes)
            }
        }
        guard let header = UnpackedMessage<Onnx__TensorProto>.unpack(rest.bytes, descriptor: graft_onnx_tensor_descriptor()) else {
            throw .undecodable(file: file, part: "graph.initializer[\(index)]")
        }
        var record = try tensorRecord(header.value, name: "initializer \(index)", file: file)
        if case .external = record.storage { return record }
        if let raw {
            record.storage = .mapped(raw)
        } else if floatRuns.count == 1, header.value.n_float_data == 0 {
            record.storage = .mapped(floatRuns[0])
        } else if !floatRuns.isEmpty {
            var joined: [UInt8] = []
            for run in floatRuns { joined += UnsafeRawBufferPointer(rebasing: bytes[run]) }
            for value in elements(header.value.float_data, count: header.value.n_float_data) {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { joined += $0 }
            }
            record.storage = .owned(joined)
        }
        return record
    }
}
