/* The addresses of the descriptors graft walks. Swift imports a C global constant as a value,
   so taking its address from Swift (withUnsafePointer) would point at a temporary copy; these
   functions return the real, static addresses. Written by hand, not generated. */
#ifndef GRAFT_CAFFE_DESCRIPTORS_H
#define GRAFT_CAFFE_DESCRIPTORS_H
#include "caffe.pb-c.h"

static inline const ProtobufCMessageDescriptor *_Nonnull graft_net_parameter_descriptor(void) {
    return &caffe__net_parameter__descriptor;
}
static inline const ProtobufCMessageDescriptor *_Nonnull graft_layer_parameter_descriptor(void) {
    return &caffe__layer_parameter__descriptor;
}
static inline const ProtobufCMessageDescriptor *_Nonnull graft_v1_layer_parameter_descriptor(void) {
    return &caffe__v1_layer_parameter__descriptor;
}
static inline const ProtobufCMessageDescriptor *_Nonnull graft_blob_proto_descriptor(void) {
    return &caffe__blob_proto__descriptor;
}
static inline const ProtobufCEnumDescriptor *_Nonnull graft_v1_layer_type_descriptor(void) {
    return &caffe__v1_layer_parameter__layer_type__descriptor;
}
#endif
