import GraftSupport
import Testing
import GraftTensors
@Suite struct TensorTests {
    @Test func shapeAndCounts() {
        let matrix = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(matrix.rank == 2)
        #expect(matrix.elementCount == 6)
        #expect(matrix.scalars == [1, 2, 3, 4, 5, 6])

        let scalar = Tensor(shape: [], scalars: [4])
        #expect(scalar.rank == 0)
        #expect(scalar.elementCount == 1)

        let empty = Tensor(shape: [3, 0], scalars: [])
        #expect(empty.rank == 2)
        #expect(empty.elementCount == 0)
    }

    @Test func repeating() {
        let tensor = Tensor(shape: [2, 2, 1], repeating: 0.5)
        #expect(tensor.shape == [2, 2, 1])
        #expect(tensor.scalars == [0.5, 0.5, 0.5, 0.5])
        #expect(Tensor(shape: [], repeating: 3).scalars == [3])
        #expect(Tensor(shape: [0], repeating: 3).scalars == [])
    }

    @Test func elementCountOfShapes() {
        #expect(Tensor.elementCount(of: []) == 1)
        #expect(Tensor.elementCount(of: [5]) == 5)
        #expect(Tensor.elementCount(of: [2, 3, 4]) == 24)
        #expect(Tensor.elementCount(of: [2, 0, 4]) == 0)
        #expect(Tensor.elementCount(of: [Int.max, 0, Int.max]) == 0)
        #expect(Tensor.elementCount(of: [2, -1]) == nil)
        #expect(Tensor.elementCount(of: [1 << 32, 1 << 32]) == nil)
        #expect(Tensor.elementCount(of: [1 << 31, 1 << 31]) == 1 << 62)
    }

    @Test func validatingInitializer() throws {
        let tensor = try Tensor(validatingShape: [3], scalars: [1, 2, 3])
        #expect(tensor == Tensor(shape: [3], scalars: [1, 2, 3]))

        let mismatch = try #require(throws: TensorError.self) { try Tensor(validatingShape: [2, 3], scalars: [1, 2, 3, 4, 5]) }
        #expect(mismatch == .shapeMismatch(shape: [2, 3], scalarCount: 5))
        #expect(mismatch.description == "a tensor of shape (2, 3) has 6 elements, but 5 values were given")
        #expect(mismatch.exitStatus == .dataError)

        let negative = try #require(throws: TensorError.self) { try Tensor(validatingShape: [2, -3], scalars: []) }
        #expect(negative == .invalidShape(shape: [2, -3]))
        #expect(negative.description.contains("(2, -3)"))

        let overflow = try #require(throws: TensorError.self) { try Tensor(validatingShape: [1 << 40, 1 << 40], scalars: []) }
        #expect(overflow == .invalidShape(shape: [1 << 40, 1 << 40]))

        let scalar = try #require(throws: TensorError.self) { try Tensor(validatingShape: [], scalars: []) }
        #expect(scalar.description == "a tensor of shape () has 1 elements, but 0 values were given")
    }

    @Test func equalityComparesShapes() {
        #expect(Tensor(shape: [2, 3], repeating: 1) != Tensor(shape: [3, 2], repeating: 1))
        #expect(Tensor(shape: [6], repeating: 1) != Tensor(shape: [6], repeating: 2))
        #expect(Tensor(shape: [1], scalars: [.nan]) != Tensor(shape: [1], scalars: [.nan]))
    }

    @Test func bufferPointers() throws {
        var tensor = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let sum = tensor.withUnsafeBufferPointer { $0.reduce(0, +) }
        #expect(sum == 10)
        tensor.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] *= 2 }
        }
        #expect(tensor.scalars == [2, 4, 6, 8])
        #expect(tensor.shape == [2, 2])

        struct Stop: Error, Equatable {}
        #expect(throws: Stop.self) {
            try tensor.withUnsafeBufferPointer { (_) throws(Stop) in throw Stop() }
        }
        #expect(throws: Stop.self) {
            try tensor.withUnsafeMutableBufferPointer { (buffer) throws(Stop) in
                buffer[0] = 100
                throw Stop()
            }
        }
        #expect(tensor.scalars == [100, 4, 6, 8])
    }

    @Test func copiesAreIndependent() {
        let original = Tensor(shape: [2], scalars: [1, 2])
        var copy = original
        copy.withUnsafeMutableBufferPointer { $0[0] = 9 }
        #expect(original.scalars == [1, 2])
        #expect(copy.scalars == [9, 2])
    }

    @Test func relativeMaxError() {
        let reference = Tensor(shape: [4], scalars: [1, -4, 2, 0])
        #expect(reference.relativeMaxError(to: reference) == 0)
        // max|a − b| = 0.5 (second element), max|b| = 4.
        let result = Tensor(shape: [4], scalars: [1.25, -3.5, 2, 0.125])
        #expect(result.relativeMaxError(to: reference) == 0.125)
        // Not symmetric: the reference sets the scale.
        #expect(reference.relativeMaxError(to: result) == Float(0.5 / 3.5))

        // Tiny differences are measured in Double, not rounded away.
        let near = Tensor(shape: [2], scalars: [1, Float(1).nextUp])
        let ones = Tensor(shape: [2], repeating: 1)
        #expect(near.relativeMaxError(to: ones) == Float(Float(1).nextUp - 1))
    }

    @Test func relativeMaxErrorEdgeCases() {
        let zeros = Tensor(shape: [3], repeating: 0)
        #expect(zeros.relativeMaxError(to: zeros) == 0)
        #expect(Tensor(shape: [3], scalars: [0, -0.0, 0]).relativeMaxError(to: zeros) == 0)
        #expect(Tensor(shape: [3], scalars: [0, 1e-30, 0]).relativeMaxError(to: zeros) == .infinity)
        #expect(Tensor(shape: [0], scalars: []).relativeMaxError(to: Tensor(shape: [0], scalars: [])) == 0)

        #expect(Tensor(shape: [3], repeating: 1).relativeMaxError(to: Tensor(shape: [1, 3], repeating: 1)) == .infinity)

        let withNaN = Tensor(shape: [3], scalars: [1, .nan, 1])
        #expect(withNaN.relativeMaxError(to: Tensor(shape: [3], repeating: 1)).isNaN)
        #expect(Tensor(shape: [3], repeating: 1).relativeMaxError(to: withNaN).isNaN)
        #expect(withNaN.relativeMaxError(to: withNaN).isNaN)

        let infinite = Tensor(shape: [2], scalars: [.infinity, 1])
        #expect(infinite.relativeMaxError(to: infinite) == 0)
        #expect(Tensor(shape: [2], scalars: [1, 1]).relativeMaxError(to: infinite).isNaN)
        #expect(infinite.relativeMaxError(to: Tensor(shape: [2], scalars: [1, 1])) == .infinity)

        // Beyond Float's range in Double, the ratio rounds to infinity.
        let huge = Tensor(shape: [2], scalars: [.greatestFiniteMagnitude, 0])
        let tiny = Tensor(shape: [2], scalars: [-.greatestFiniteMagnitude, .leastNonzeroMagnitude])
        #expect(huge.relativeMaxError(to: tiny) == 2)
    }
}
