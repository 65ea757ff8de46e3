import Testing
import GraftTensors
@Suite struct ElementTypeTests {
    @Test func table() {
        let expected: [(ElementType, Int, String?, String)] = [
            (.float16, 2, "<f2", "F16"), (.bfloat16, 2, nil, "BF16"), (.float32, 4, "<f4", "F32"), (.float64, 8, "<f8", "F64"),
            (.int8, 1, "|i1", "I8"), (.int16, 2, "<i2", "I16"), (.int32, 4, "<i4", "I32"), (.int64, 8, "<i8", "I64"),
            (.uint8, 1, "|u1", "U8"), (.uint16, 2, "<u2", "U16"), (.uint32, 4, "<u4", "U32"), (.uint64, 8, "<u8", "U64"),
            (.bool, 1, "|b1", "BOOL"),
        ]
        #expect(expected.map(\.0) == ElementType.allCases)
        for (type, size, descriptor, code) in expected {
            #expect(type.byteCount == size, "\(type)")
            #expect(type.numPyDescriptor == descriptor, "\(type)")
            #expect(type.safetensorsCode == code, "\(type)")
            #expect(type.description == type.rawValue)
        }
    }

    @Test(arguments: ElementType.allCases)
    func codesRoundTrip(_ type: ElementType) {
        #expect(ElementType(safetensorsCode: type.safetensorsCode) == type)
        if let descriptor = type.numPyDescriptor {
            #expect(ElementType(numPyDescriptor: descriptor) == type)
        }
        #expect(ElementType(rawValue: type.rawValue) == type)
    }

    @Test func descriptorByteOrders() {
        #expect(ElementType(numPyDescriptor: "<u1") == .uint8)
        #expect(ElementType(numPyDescriptor: ">u1") == .uint8)
        #expect(ElementType(numPyDescriptor: "|i1") == .int8)
        #expect(ElementType(numPyDescriptor: "<b1") == .bool)
        #expect(ElementType(numPyDescriptor: ">f4") == nil)
        #expect(ElementType(numPyDescriptor: "|f4") == nil)
        #expect(ElementType(numPyDescriptor: "=f4") == nil)
        #expect(ElementType(numPyDescriptor: "f4") == nil)
        #expect(ElementType(numPyDescriptor: "<f04") == nil)
        #expect(ElementType(numPyDescriptor: "<f16") == nil)
        #expect(ElementType(numPyDescriptor: "<c8") == nil)
        #expect(ElementType(numPyDescriptor: "<U2") == nil)
        #expect(ElementType(numPyDescriptor: "") == nil)
        #expect(ElementType(safetensorsCode: "f32") == nil)
        #expect(ElementType(safetensorsCode: "F8_E4M3") == nil)
    }
}
