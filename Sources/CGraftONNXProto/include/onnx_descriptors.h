/* The addresses of the descriptors graft's ONNX decoder hands to protobuf-c. Swift imports a C
   global constant as a value, so taking its address from Swift (withUnsafePointer) would point
   at a temporary copy; these functions return the real, static addresses. Written by hand, not
   generated. */
#ifndef GRAFT_ONNX_DESCRIPTORS_H
#define GRAFT_ONNX_DESCRIPTORS_H
#include "onnx.pb-c.h"

static inline const ProtobufCMessageDescriptor *_Nonnull graft_onnx_model_descriptor(void) {
    return &onnx__model_proto__descriptor;
}
static inline const ProtobufCMessageDescriptor *_Nonnull graft_onnx_graph_descriptor(void) {
    return &onnx__graph_proto__descriptor;
}
static inline const ProtobufCMessageDescriptor *_Nonnull graft_onnx_node_descriptor(void) {
    return &onnx__node_proto__descriptor;
}
static inline const ProtobufCMessageDescriptor *_Nonnull graft_onnx_tensor_descriptor(void) {
    return &onnx__tensor_proto__descriptor;
}
static inline const ProtobufCMessageDescriptor *_Nonnull graft_onnx_value_info_descriptor(void) {
    return &onnx__value_info_proto__descriptor;
}
#endif
