import GraftProtobuf

// The ONNX messages the exporter writes, encoded with graft's protobuf wire writer. Field numbers
// are those of schemas/onnx.proto (the public specification's); the exporter writes only
// fields the importer also reads, so a test can read every file back.

/// An attribute of an ONNX node.
struct ONNXAttribute {
    enum Value {
        case int(Int)
        case float(Float)
        case string(String)
        case ints([Int])
        case floats([Float])
    }

    var name: String
    var value: Value

    init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    /// `AttributeProto`: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20.
    func encoded() -> [UInt8] {
        var w = WireWriter()
        w.appendString(1, name)
        switch value {
        case let .float(f):
            w.appendTag(2, .fixed32)
            w.appendFixed32(f.bitPattern)
            w.appendVarintField(20, 1)
        case let .int(i):
            w.appendVarintField(3, UInt64(bitPattern: Int64(i)))
            w.appendVarintField(20, 2)
        case let .string(s):
            w.appendString(4, s)
            w.appendVarintField(20, 3)
        case let .floats(list):
            for f in list {
                w.appendTag(7, .fixed32)
                w.appendFixed32(f.bitPattern)
            }
            w.appendVarintField(20, 6)
        case let .ints(list):
            for i in list { w.appendVarintField(8, UInt64(bitPattern: Int64(i))) }
            w.appendVarintField(20, 7)
        }
        return w.bytes
    }
}

/// One ONNX node.
struct ONNXNode {
    var opType: String
    var name: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [ONNXAttribute]

    /// `NodeProto`: input 1, output 2, name 3, op_type 4, attribute 5.
    func encoded() -> [UInt8] {
        var w = WireWriter()
        for input in inputs { w.appendString(1, input) }
        for output in outputs { w.appendString(2, output) }
        w.appendString(3, name)
        w.appendString(4, opType)
        for attribute in attributes { w.appendLengthDelimited(5, attribute.encoded()) }
        return w.bytes
    }
}

/// A graph input or output: a float tensor with fixed or named sizes.
struct ONNXValueInfo {
    var name: String
    /// `nil` entries are open sizes, written as `dim_param` names.
    var shape: [Int?]

    /// The symbolic name of an open size: `batch` for axis 0 (the same batch throughout),
    /// `<value>_<axis>` for the others.
    func openName(_ axis: Int) -> String { axis == 0 ? "batch" : "\(name)_\(axis)" }

    /// `ValueInfoProto { name 1, type 2 { tensor_type 1 { elem_type 1, shape 2 { dim 1 { dim_value 1 | dim_param 2 } } } } }`.
    func encoded() -> [UInt8] {
        var shapeMessage = WireWriter()
        for (axis, size) in shape.enumerated() {
            var dim = WireWriter()
            if let size { dim.appendVarintField(1, UInt64(size)) } else { dim.appendString(2, openName(axis)) }
            shapeMessage.appendLengthDelimited(1, dim.bytes)
        }
        var tensorType = WireWriter()
        tensorType.appendVarintField(1, 1)
        tensorType.appendLengthDelimited(2, shapeMessage.bytes)
        var type = WireWriter()
        type.appendLengthDelimited(1, tensorType.bytes)
        var w = WireWriter()
        w.appendString(1, name)
        w.appendLengthDelimited(2, type.bytes)
        return w.bytes
    }
}

/// Where an initializer's bytes are written.
enum TensorPlacement {
    /// In `raw_data`, inside the model file.
    case inline
    /// In the external data file `location`, at `offset`.
    case external(location: String, offset: Int)
}

extension WireWriter {
    mutating func appendString(_ number: Int, _ text: String) {
        appendLengthDelimited(number, Array(text.utf8))
    }

    mutating func appendVarintField(_ number: Int, _ value: UInt64) {
        appendTag(number, .varint)
        appendVarint(value)
    }
}
