import Foundation
import GraftModel
import GraftRuntime
import GraftTensors
import Testing

/// `--exact` and Winograd: both within the parity bar of the framework's outputs (the suite runs
/// again with GRAFT_WINOGRAD=1 for the rest), and each names itself in the session's numerics,
/// which a feature cache records.
@Suite struct ConvolutionAlgorithms {
    @Test(arguments: ["conv_bn_relu", "residual_net", "conv_valid", "se_block"])
    func bothAlgorithmsMatchTheFramework(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        var numerics: Set<String> = []
        for algorithm in ConvolutionAlgorithm.allCases {
            let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2, algorithm: algorithm)
            numerics.insert(session.numerics)
            let results = try session.run(fixture.inputs)
            for (result, output) in zip(results, fixture.outputs) {
                let error = result.relativeMaxError(to: output.expected)
                #expect(error <= parityTolerance, "\(name) \(output.name) with \(algorithm): relative max error \(error)")
            }
        }
        #expect(numerics.count == ConvolutionAlgorithm.allCases.count || ProcessInfo.processInfo.environment["GRAFT_KERNELS"] == "graft")
    }
}
