import GraftModel
import Foundation

extension Converter {
    // MARK: Element-wise with parameters

    func convertExp(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let base = Double(layer.exp.base), scale = Double(layer.exp.scale), shift = Double(layer.exp.shift)
        guard base == -1 || base > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "exp base \(base) is not positive")
        }
        // Caffe: y = outer · e^(inner · x), inner = ln(base)·scale, outer = base^shift.
        let logBase = base == -1 ? 1 : Foundation.log(base)
        let inner = Double(Float(logBase * scale))
        let outer = shift == 0 ? 1 : (base == -1 ? Foundation.exp(shift) : pow(base, shift))
        let node = reserveNodeName(layer, index: index)
        var current = input
        if inner != 1 {
            current = emitHelper(name: "\(node)/inner_scale", .rescaling(.init(scale: inner, offset: 0)), input: current, shape: shape)
        }
        if outer != 1 {
            current = emitHelper(name: "\(node)/exp", .activation(.exponential), input: current, shape: shape)
            emit(layer, index: index, name: node, .rescaling(.init(scale: outer, offset: 0)), inputs: [current], outputShapes: [shape])
        } else {
            emit(layer, index: index, name: node, .activation(.exponential), inputs: [current], outputShapes: [shape])
        }
    }

    func convertPReLU(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        guard shape.count >= 2 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its input has fewer than 2 axes") }
        let shared = layer.prelu.channelShared
        let channels = shared ? 1 : shape[1]
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: [[channels]])
        // graft broadcasts alpha against the input without its batch axis, aligned right, so
        // per-channel slopes of an NCHW blob are shaped [C, 1, 1].
        let alphaShape = shared ? [1] : [channels] + Array(repeating: 1, count: shape.count - 2)
        let alpha = addWeight(node: node, role: "alpha", shape: alphaShape, values: stored[0].values)
        emit(layer, index: index, name: node, .preLU, inputs: [input], outputShapes: [shape], weights: ["alpha": alpha])
    }
}
