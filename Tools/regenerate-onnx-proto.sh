#!/bin/sh
# Regenerates Sources/CGraftONNXProto from schemas/onnx.proto with protoc-c (Debian protobuf-c-compiler;
# the protobuf-c options it imports need google/protobuf/descriptor.proto from libprotobuf-dev).
set -eu
cd "$(dirname "$0")/.."
mkdir -p Sources/CGraftONNXProto/include
protoc-c --proto_path=schemas --proto_path=/usr/include --c_out=Sources/CGraftONNXProto schemas/onnx.proto && mv Sources/CGraftONNXProto/onnx.pb-c.h Sources/CGraftONNXProto/include/onnx.pb-c.h
