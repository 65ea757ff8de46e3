// graft's view of protobuf-c (Debian libprotobuf-c-dev): the runtime that unpacks messages
// described by the descriptors protoc-c generates from schemas/caffe.proto.
#ifndef GRAFT_CPROTOBUFC_SHIM_H
#define GRAFT_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
