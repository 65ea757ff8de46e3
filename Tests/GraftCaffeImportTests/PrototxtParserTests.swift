@testable import GraftCaffeImport
import Foundation
import GraftModel
import GraftTestSupport
import Testing
/// The zoo's deploy prototxts, in `shared/zoo/caffe` next to the package's folder (read-only data
/// that is not committed; see its README).
private let zooFolder = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/zoo/caffe").path

/// The prototxt parser: every syntax form Caffe files use, and errors with their positions.
@Suite struct PrototxtParserTests {
    private func parse(_ text: String) throws -> NetDefinition {
        try NetDefinition(text: text, file: "test.prototxt")
    }

    private func syntaxError(_ text: String) -> (line: Int, column: Int, message: String)? {
        do {
            _ = try parse(text)
            return nil
        } catch let CaffeImportError.prototxtSyntax(file, line, column, message) {
            #expect(file == "test.prototxt")
            return (line, column, message)
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func readsEveryFieldForm() throws {
        let net = try parse("""
            # a comment at the top
            name: "forms"   # and one after a value
            input: 'data' input_dim: 1 input_dim: 3 input_dim: 0x10 input_dim: 020
            layer {
              name: "conv" type: "Convolution" bottom: "data" top: "conv"
              convolution_param: { num_output: 8 kernel_size: [3, 5], pad: 1; stride: 2 }
            }
            layer < name: "pool" type: "Pooling" bottom: "conv" top: "pool"
              pooling_param < pool: AVE kernel_size: 2 > >
            layer { name: "relu" type: "ReLU" bottom: "pool" top: "pool" relu_param { negative_slope: -1.5e-2 } }
            layer { name: 'esc\\'aped\\x41\\101\\n' type: "Power" bottom: "pool" top: "p" power_param { power: inf shift: -inf scale: nan } }
            layers { name: "v1" type: SOFTMAX bottom: "p" top: "s" }
            """)
        #expect(net.name == "forms")
        #expect(net.declaredInputs.count == 1)
        #expect(net.declaredInputs[0].name == "data")
        #expect(net.declaredInputs[0].shape == [1, 3, 16, 16])
        // V1 `layers` come first, as Caffe upgrades them before appending `layer`s.
        #expect(net.layers.map(\.name) == ["v1", "conv", "pool", "relu", "esc'apedAA\n"])
        #expect(net.layers[0].type == "Softmax")
        #expect(net.layers[0].isLegacy)
        let conv = try #require(net.layers[1].convolution)
        #expect(conv.outputCount == 8)
        #expect(conv.kernelSize == [3, 5])
        #expect(conv.pad == [1])
        #expect(conv.stride == [2])
        let pool = try #require(net.layers[2].pooling)
        #expect(pool.method == .average)
        #expect(pool.kernelSize == 2)
        #expect(net.layers[3].relu.negativeSlope == -0.015)
        let power = net.layers[4].power
        #expect(power.power == .infinity)
        #expect(power.shift == -.infinity)
        #expect(power.scale.isNaN)
    }

    @Test func readsNumbersAndBooleans() throws {
        let net = try parse("""
            layer { name: "a" type: "BatchNorm" batch_norm_param { use_global_stats: t eps: 1E-3 moving_average_fraction: .5 } }
            layer { name: "b" type: "BatchNorm" batch_norm_param { use_global_stats: False eps: 2f moving_average_fraction: 1 } }
            layer { name: "c" type: "Concat" concat_param { axis: -1 } }
            """)
        let a = net.layers[0].batchNorm
        #expect(a.useGlobalStats == true && a.epsilon == 0.001 && a.movingAverageFraction == 0.5)
        let b = net.layers[1].batchNorm
        #expect(b.useGlobalStats == false && b.epsilon == 2 && b.movingAverageFraction == 1)
        #expect(net.layers[2].concat.axis == -1)
    }

    @Test func absentParametersTakeCaffesDefaults() throws {
        let net = try parse("""
            layer { name: "pool" type: "Pooling" }
            layer { name: "lrn" type: "LRN" lrn_param { alpha: 0.5 } }
            layer { name: "conv" type: "Convolution" convolution_param { pad_h: 0 } }
            """)
        #expect(net.layers[0].pooling == nil)
        #expect(net.layers[0].lrn == LRNParameters())
        #expect(net.layers[1].lrn == LRNParameters(localSize: 5, alpha: 0.5, beta: 0.75, normRegion: .acrossChannels, k: 1))
        let conv = try #require(net.layers[2].convolution)
        // Given with its default value is not absent; a field without a default stays absent.
        #expect(conv.padHeight == 0 && conv.padWidth == nil)
        #expect(conv.outputCount == nil && conv.biasTerm && conv.group == 1 && conv.axis == 1)
        #expect(PoolingParameters().roundMode == .ceil && PoolingParameters().method == .max)
    }

    @Test func stateRulesSelectTheTestNet() throws {
        let net = try parse("""
            layer { name: "test" type: "ReLU" include { phase: TEST } }
            layer { name: "train" type: "ReLU" include { phase: TRAIN } }
            layer { name: "staged" type: "ReLU" include { stage: "deploy" } }
            layer { name: "not_staged" type: "ReLU" include { not_stage: "deploy" } }
            layer { name: "level1" type: "ReLU" include { min_level: 1 } }
            layer { name: "either" type: "ReLU" include { max_level: -1 } include { max_level: 0 } }
            layer { name: "not_test" type: "ReLU" exclude { phase: TEST } }
            layer { name: "not_train" type: "ReLU" exclude { phase: TRAIN } exclude { stage: "x" } }
            """)
        #expect(net.layers[0].include == [NetStateRule(phase: .test)])
        #expect(net.layers[4].include == [NetStateRule(minimumLevel: 1)])
        #expect(net.layers.filter(\.isInTestNet).map(\.name) == ["test", "not_staged", "either", "not_train"])
        #expect(net.layers[2].isIncluded(in: NetState(phase: .test, level: 0, stages: ["deploy"])))
    }

    @Test func concatenatesAdjacentStrings() throws {
        let net = try parse(#"layer { name: "con" 'cat' "ed" type: "ReLU" }"#)
        #expect(net.layers[0].name == "concated")
    }

    /// Fuzzing finding: adjacent literals took quadratic time (2 s for 40k on one line).
    @Test func manyAdjacentStringsParseInLinearTime() throws {
        let literals = (0..<200_000).map { $0 % 1000 == 0 ? #""x""# : #""""# }.joined(separator: " ")
        let text = "layer { name: " + literals + #" type: "ReLU" }"#
        let clock = ContinuousClock()
        var net: NetDefinition?
        let elapsed = try clock.measure { net = try parse(text) }
        #expect(net?.layers[0].name == String(repeating: "x", count: 200))
        #expect(elapsed < .seconds(5), "200k adjacent literals took \(elapsed)")
    }

    @Test func reportsUnknownFieldsWithPosition() throws {
        let error = try #require(syntaxError("name: \"x\"\nlayer {\n  name: \"a\"\n  kernal_size: 3\n}\n"))
        #expect(error.line == 4)
        #expect(error.column == 3)
        #expect(error.message == "LayerParameter has no field 'kernal_size'")
    }

    @Test func reportsBadValues() throws {
        let enumError = try #require(syntaxError("layer { pooling_param { pool: MEDIAN } }"))
        #expect(enumError.column == 31)
        #expect(enumError.message.contains("'MEDIAN' is not a value of PoolMethod"))
        let range = try #require(syntaxError("layer { convolution_param { num_output: -3 } }"))
        #expect(range.message.contains("out of range"))
        #expect(range.column == 41)
        let overflow = try #require(syntaxError("input_dim: 4294967296"))
        #expect(overflow.message.contains("out of range"))
        let number = try #require(syntaxError("layer { relu_param { negative_slope: \"x\" } }"))
        #expect(number.message == "expected a number for 'negative_slope', found a string")
    }

    @Test func reportsStructuralErrors() throws {
        let unclosed = try #require(syntaxError("layer {\n  name: \"a\"\n"))
        #expect(unclosed.line == 3)
        #expect(unclosed.message.contains("expected '}' to close LayerParameter"))
        let colon = try #require(syntaxError("name \"a\""))
        #expect(colon.message == "expected ':' after 'name', found a string")
        #expect(colon.column == 6)
        let twice = try #require(syntaxError("name: \"a\"\nname: \"b\""))
        #expect(twice.line == 2)
        #expect(twice.message.contains("not repeated but is given twice"))
        let list = try #require(syntaxError("name: [\"a\"]"))
        #expect(list.message.contains("cannot take a list"))
        let string = try #require(syntaxError("name: \"open\n"))
        #expect(string.message.contains("not closed"))
        let character = try #require(syntaxError("name: \"é\" $"))
        #expect(character.column == 11)
        #expect(character.message == "unexpected character '$'")
        let escape = try #require(syntaxError(#"name: "a\qb""#))
        #expect(escape.message.contains("unknown escape"))
        // A backslash before a line break (found by fuzzing): the message stays on one line.
        let lineBreak = try #require(syntaxError("name: \"a\\\nb\""))
        #expect(lineBreak.message == #"unknown escape '\\n' in a string"#)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: zooFolder), "needs the zoo prototxts in ../shared/zoo/caffe"))
    func parsesTheZooPrototxts() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: zooFolder)
        for file in files where file.hasSuffix(".prototxt") {
            let text = try String(contentsOfFile: "\(zooFolder)/\(file)", encoding: .utf8)
            let net = try NetDefinition(text: text, file: file)
            #expect(!net.layers.isEmpty, "\(file)")
        }
    }
}

/// Fuzzing finding 5: errors quoting a huge token must stay one short line.
@Suite struct PrototxtBoundedErrors {
    @Test func hugeTokensAreQuotedShortened() {
        let huge = String(repeating: "a", count: 1_000_000)
        let texts = [
            "layer { \(huge): 1 }",  // unknown field name
            "input_dim: \(huge)",  // an identifier where a number belongs
            "input_dim: 1\(String(repeating: "0", count: 1_000_000))",  // a number out of range
            "layer { type: \(huge) }",  // an identifier where a string belongs
            "name: \"x\" \(huge)",  // unknown top-level field
        ]
        for text in texts {
            do {
                _ = try NetDefinition(text: text, file: "test.prototxt")
                Issue.record("parsed a bad prototxt")
            } catch {
                let message = "\(error)"
                #expect(message.count < 300, "\(message.prefix(300))")
                #expect(!message.contains("\n"))
            }
        }
    }
}
