#!/bin/sh
# Regenerates Sources/CGraftCaffeProto from schemas/caffe.proto with protoc-c (Debian protobuf-c-compiler;
# the protobuf-c options it imports need google/protobuf/descriptor.proto from libprotobuf-dev).
set -eu
cd "$(dirname "$0")/.."
protoc-c --proto_path=schemas --proto_path=/usr/include --c_out=Sources/CGraftCaffeProto schemas/caffe.proto && mv Sources/CGraftCaffeProto/caffe.pb-c.h Sources/CGraftCaffeProto/include/caffe.pb-c.h
