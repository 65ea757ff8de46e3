import Foundation
import GraftModel
import GraftTestSupport
import Testing
/// The repository's `schemas/` folder.
private let schemas = repositoryRoot.appendingPathComponent("schemas")

/// Every committed `.graft` file under `Tests/`, written by graft's converters or by Python.
private func committedModels() -> [URL] {
    let tests = repositoryRoot.appendingPathComponent("Tests")
    let walker = FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil)
    var found: [URL] = []
    while let url = walker?.nextObject() as? URL {
        if url.pathExtension == "graft", !url.path.contains("/corrupt/") { found.append(url) }
    }
    return found.sorted { $0.path < $1.path }
}

/// The JSON Schema's per-op attribute definitions: op name to (property names, required names).
private func schemaAttributes() throws -> (ops: [String], attributes: [String: (properties: Set<String>, required: Set<String>)]) {
    let data = try Data(contentsOf: schemas.appendingPathComponent("graft-graph.schema.json"))
    let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let defs = try #require(root["$defs"] as? [String: Any])
    let node = try #require(defs["node"] as? [String: Any])
    let properties = try #require(node["properties"] as? [String: Any])
    let opEnum = try #require((properties["op"] as? [String: Any])?["enum"] as? [String])
    let attributes = try #require(defs["attributes"] as? [String: [String: Any]])
    var result: [String: (Set<String>, Set<String>)] = [:]
    for (op, definition) in attributes {
        let names = Set((definition["properties"] as? [String: Any] ?? [:]).keys)
        let required = Set(definition["required"] as? [String] ?? [])
        result[op] = (names, required)
    }
    return (opEnum, result)
}

@Suite struct OpSchemaMatchesTheSpecifications {
    @Test func theJSONSchemaListsEveryOpAndExactlyItsAttributes() throws {
        let (ops, attributes) = try schemaAttributes()
        #expect(Set(ops) == Set(Operator.allCases.map(\.rawValue)))
        #expect(Set(attributes.keys) == Set(Operator.allCases.map(\.rawValue)))
        for op in Operator.allCases {
            let schema = try #require(attributes[op.rawValue], "\(op.rawValue) has no attribute definition")
            #expect(schema.properties == Set(OpSchema.attributeNames(of: op)), "attributes of \(op.rawValue)")
        }
    }

    /// The required attributes are exactly those whose absence decoding reports.
    @Test func theJSONSchemaRequiresWhatDecodingRequires() throws {
        let (_, attributes) = try schemaAttributes()
        for op in Operator.allCases {
            var missing: Set<String> = []
            var given: [String: JSONValue] = [:]
            // Add a valid value for each attribute decoding asks for, until it decodes.
            for _ in 0..<4 {
                do {
                    _ = try Operation.decode(op, attributes: given, node: "n")
                    break
                } catch let AttributeError.missing(_, attribute) {
                    missing.insert(attribute)
                    given[attribute] = Self.sample(attribute)
                }
            }
            #expect(missing == attributes[op.rawValue]?.required, "required attributes of \(op.rawValue)")
        }
    }

    static func sample(_ attribute: String) -> JSONValue {
        switch attribute {
        case "kernel_size", "pool_size", "size": [3, 3]
        case "padding": [0, 0, 0, 0]
        case "function": "relu"
        case "shape", "permutation": [0]
        default: 1
        }
    }

    /// Every attribute of every op appears, in backticks, in the op's row of graft-model.md (an
    /// Activation's parameters in the table of functions).
    @Test func graftModelDocumentsEveryOpAndAttribute() throws {
        let text = try String(contentsOf: schemas.appendingPathComponent("graft-model.md"), encoding: .utf8)
        var rows: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            for name in Self.backticked(cells[1]) { rows[name, default: ""] += " " + cells[2] }
        }
        for op in Operator.allCases {
            let row = try #require(rows[op.rawValue], "graft-model.md has no row for \(op.rawValue)")
            let documented = Set(Self.backticked(row))
            for attribute in OpSchema.attributeNames(of: op) where op != .activation || attribute == "function" {
                #expect(documented.contains(attribute), "graft-model.md: \(op.rawValue) does not mention `\(attribute)`")
            }
        }
        for function in Activation.Function.allCases {
            let row = try #require(rows[function.rawValue], "graft-model.md has no row for the function \(function.rawValue)")
            let documented = Set(Self.backticked(row))
            for parameter in function.parameterNames {
                #expect(documented.contains(parameter), "graft-model.md: \(function.rawValue) does not mention `\(parameter)`")
            }
        }
    }

    static func backticked(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }
}

@Suite struct OpSchemaDecoding {
    @Test func everyCommittedModelLoadsAndItsAttributesSurviveEncoding() throws {
        let models = committedModels()
        #expect(models.count >= 20)
        let (_, schema) = try schemaAttributes()
        for url in models {
            let file = try ModelFile(path: url.path)
            for node in file.graph.nodes {
                let encoded = node.operation.attributes
                #expect(try Operation.decode(node.op, attributes: encoded, node: node.name) == node.operation, "\(url.lastPathComponent): \(node.name)")
                let allowed = schema[node.op.rawValue]?.properties ?? []
                #expect(Set(encoded.keys).isSubset(of: allowed), "\(url.lastPathComponent): \(node.name) writes \(encoded.keys.sorted())")
            }
        }
    }

    /// Files converted before the typed schema existed (copied from the runtime fixtures when it
    /// landed) read as the same operations as their attributes say.
    @Test func filesWrittenBeforeTheTypedSchemaStillLoad() throws {
        let folder = fixtureFolder().appendingPathComponent("before-typed-schema")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".graft") }
        #expect(names.count >= 15)
        for name in names {
            let file = try ModelFile(path: folder.appendingPathComponent(name).path)
            #expect(!file.graph.nodes.isEmpty)
        }
        let pooling = try ModelFile(path: folder.appendingPathComponent("caffe_pooling.graft").path)
        let poolings = pooling.graph.nodes.compactMap(\.operation.pooling)
        #expect(poolings.contains { $0.rounding == .ceil && $0.divisor == .padded })
    }

    @Test func anUnknownAttributeIsReportedWithItsNode() {
        #expect(throws: AttributeError.unknown(node: "conv1", op: "Conv2D", attribute: "kernel_sise",
                                               expected: OpSchema.attributeNames(of: .conv2D))) {
            try Operation.decode(.conv2D, attributes: ["kernel_size": [3, 3], "kernel_sise": [3, 3]], node: "conv1")
        }
    }

    @Test func aMisspeltActivationIsReportedAtLoadTime() throws {
        do {
            _ = try Operation.decode(.dense, attributes: ["activation": "rleu"], node: "fc")
            Issue.record("decoded a misspelt activation")
        } catch let AttributeError.invalid(node, attribute, reason) {
            #expect(node == "fc" && attribute == "activation")
            #expect(reason.contains("rleu") && reason.contains("relu"))
        }
    }

    @Test func aFusedActivationMustNotNeedParameters() {
        #expect(throws: AttributeError.self) {
            try Operation.decode(.conv2D, attributes: ["kernel_size": [1, 1], "activation": "leaky_relu"], node: "c")
        }
        #expect(throws: AttributeError.self) { try Operation.conv2D(.init(layout: .nhwc, kernelSize: Pair(1, 1), activation: .leakyReLU(alpha: 0.1))).validate(node: "c") }
    }

    @Test func outOfRangeValuesAreRejected() {
        let cases: [(Operator, [String: JSONValue])] = [
            (.conv2D, ["kernel_size": [0, 3]]),
            (.conv2D, ["kernel_size": [3, 3], "groups": 0]),
            (.maxPooling2D, ["pool_size": [2, 2], "rounding": "up"]),
            (.pad, ["padding": [1, -1, 0, 0]]),
            (.transpose, ["permutation": [0, 0, 1]]),
            (.activation, ["function": "log", "base": 1]),
        ]
        for (op, attributes) in cases {
            #expect(throws: AttributeError.self, "\(op.rawValue) \(attributes)") { try Operation.decode(op, attributes: attributes, node: "n") }
        }
    }

    @Test func defaultsAreTheSpecsDefaults() throws {
        let convolution = try #require(try Operation.decode(.conv2D, attributes: ["kernel_size": [3, 3]], node: "c").convolution)
        #expect(convolution == Operation.Convolution(layout: .nhwc, kernelSize: Pair(3, 3)))
        #expect(convolution.strides == Pair(1, 1) && convolution.padding == .valid && convolution.activation == .linear)
        let pooling = try #require(try Operation.decode(.averagePooling2D, attributes: ["pool_size": [2, 3]], node: "p").pooling)
        #expect(pooling.strides == Pair(2, 3) && pooling.rounding == .floor && pooling.divisor == .valid)
        #expect(try Operation.decode(.batchNormalization, attributes: ["axis": 3], node: "b") == .batchNormalization(.init(axis: 3, epsilon: 0.001)))
        #expect(try Operation.decode(.activation, attributes: ["function": "log", "base": -1], node: "l") == .activation(.log()))
    }
}

/// The output-size formulas against values worked out by hand from TensorFlow's and Caffe's rules.
@Suite struct WindowArithmeticByHand {
    @Test func sameAndValidConvolutions() {
        // TensorFlow "same", 224 input, 7x7 stride 2: 112 outputs, total padding 5 -> 2 before, 3 after.
        #expect(WindowArithmetic.samePadding(input: 224, kernel: 7, stride: 2) == (2, 3))
        #expect(WindowArithmetic.convolutionOutput(input: 224, kernel: 7, stride: 2, before: 2, after: 3) == 112)
        // 3x3, dilation 2 spans 5: a 4-wide input does not fit without padding.
        #expect(WindowArithmetic.convolutionOutput(input: 4, kernel: 3, stride: 1, dilation: 2, before: 0, after: 0) == nil)
        // Transposed 3x3 stride 2 on 4: (4-1)*2 + 3 = 9, minus "same" crop 0 + 1 = 8.
        let transposed = Operation.Convolution(layout: .nhwc, kernelSize: Pair(3, 3), strides: Pair(2, 2), padding: .same)
        #expect(transposed.resolvedPadding(for: Pair(4, 4), transposed: true) == Sides(top: 0, bottom: 1, left: 0, right: 1))
        #expect(transposed.outputSize(for: Pair(4, 4), transposed: true) == Pair(8, 8))
    }

    @Test func caffeCeilPoolingDropsAWindowStartingInThePadding() {
        // GoogLeNet pool: 3x3 stride 2 ceil, 112 input no pad -> ceil(109/2)+1 = 56.
        #expect(WindowArithmetic.poolingOutput(input: 112, window: 3, stride: 2, before: 0, after: 0, rounding: .ceil, anyPadding: false) == 56)
        // 2x2 stride 2 pad 1 on 5: ceil(5/2)+1 = 4, but the 4th window starts at 6 >= 5+1: dropped -> 3.
        #expect(WindowArithmetic.poolingOutput(input: 5, window: 2, stride: 2, before: 1, after: 1, rounding: .ceil, anyPadding: true) == 3)
        #expect(WindowArithmetic.poolingOutput(input: 5, window: 2, stride: 2, before: 1, after: 1, rounding: .floor, anyPadding: true) == 3)
        // Without padding the last window is kept: 6 input, 2x2 stride 2 ceil -> 3; 7 input -> 4.
        #expect(WindowArithmetic.poolingOutput(input: 7, window: 2, stride: 2, before: 0, after: 0, rounding: .ceil, anyPadding: false) == 4)
        #expect(WindowArithmetic.poolingOutput(input: 2, window: 3, stride: 1, before: 0, after: 0, rounding: .floor, anyPadding: false) == nil)
    }
}
