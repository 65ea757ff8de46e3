#!/usr/bin/env python3
"""Checks that a .graft file written by graft loads in Python's `safetensors` package.

By default it checks Tests/GraftModelTests/Fixtures/written-by-graft.graft (which the Swift test
`writerOutputMatchesTheFileCheckedWithPythonSafetensors` keeps byte-identical to graft's writer
output) against tiny-cnn.graft, the file Python's safetensors wrote: every tensor must be equal,
every tensor must start on a 64-byte boundary, and the graph metadata must decode to the same JSON.

Usage: .venv/bin/python Tools/check-safetensors.py [WRITTEN.graft REFERENCE.graft]
Exits 0 and prints a summary when everything matches; skips (exit 0, says so) without safetensors.
"""
import json
import os
import struct
import sys

try:
    import numpy as np
    from safetensors import safe_open
except ImportError:
    print("check-safetensors: skipped: the safetensors and numpy packages are not installed (run Tools/setup-venv.sh)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "GraftModelTests", "Fixtures")
written = sys.argv[1] if len(sys.argv) > 2 else os.path.join(FIXTURES, "written-by-graft.graft")
reference = sys.argv[2] if len(sys.argv) > 2 else os.path.join(FIXTURES, "tiny-cnn.graft")

failures = []
with safe_open(written, framework="numpy") as w, safe_open(reference, framework="numpy") as r:
    model_tensors = [k for k in w.keys() if not k.startswith("__graft_padding_")]
    if sorted(model_tensors) != sorted(r.keys()):
        failures.append(f"tensor names differ: {sorted(model_tensors)} vs {sorted(r.keys())}")
    for name in r.keys():
        a, b = w.get_tensor(name), r.get_tensor(name)
        if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
            failures.append(f"tensor {name} differs")
    if json.loads(w.metadata()["graft"]) != json.loads(r.metadata()["graft"]):
        failures.append("graph metadata differs")

with open(written, "rb") as f:
    blob = f.read()
(length,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + length])
for name, entry in header.items():
    if name != "__metadata__" and not name.startswith("__graft_padding_") and (8 + length + entry["data_offsets"][0]) % 64:
        failures.append(f"tensor {name} is not 64-byte aligned")

if failures:
    print("check-safetensors: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"check-safetensors: {written} loads in safetensors {__import__('safetensors').__version__}: "
      f"{len(model_tensors)} tensors equal to {os.path.basename(reference)}, all 64-byte aligned, graph equal")
