#!/usr/bin/env python3
"""ONNX import parity on torchvision models: onnxruntime against `graft convert` + `graft run`.

For each model (seeded random weights, batch-norm statistics and layer scales perturbed so that
no layer is an identity) and each exporter (torch.onnx's TorchScript exporter, dynamo=False, at
opset 17, and the dynamo exporter at its default opset), with a dynamic batch axis:

  1. exports the model to ONNX and adds the penultimate value (the input of the last Gemm or
     MatMul, the layer `graft features` reads by default) as a graph output;
  2. runs onnxruntime (CPU) on a seeded batch;
  3. `graft convert model.onnx -o model.graft --preprocess keras-torch`, checks that `graft
     inspect` names that same value as the default feature layer, then `graft run` for the
     output and `graft run --layer` for the penultimate value;
  4. prints max |graft − ort| and max |graft − ort| / max |ort| for both (bar 1e-4 relative).

Needs torch and torchvision in .venv (`Tools/setup-venv.sh --torch`) and a graft binary
(default .build/release/graft). Exits 1 when a case fails the bar or cannot be converted.

  .venv/bin/python Tools/onnx-zoo/run.py [--graft PATH] [--models resnet50,...] [--exporters torchscript,dynamo] [--batch 2]
"""
import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
import contextlib

import numpy as np

MODELS = ["resnet50", "mobilenet_v3_large", "efficientnet_b0", "densenet121", "regnet_y_400mf", "convnext_tiny"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def import_torchvision():
    """torchvision from PyPI ships C++ ops built against CUDA torch; with the CPU wheel they do not
    load, and torchvision's own import then fails registering fake kernels for two of them. The
    classification models need none of its C++ ops: declaring the two schemas first lets the
    pure-Python package import."""
    import glob
    import importlib.util
    import torch
    package = os.path.dirname(importlib.util.find_spec("torchvision").origin)
    try:
        torch.ops.load_library(glob.glob(os.path.join(package, "_C*.so"))[0])
    except (IndexError, OSError):
        library = torch.library.Library("torchvision", "DEF")
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_torchvision.library = library  # kept alive with the process
    import torchvision
    return torchvision


def build_model(torchvision, name, seed):
    import torch
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            # Batch-norm statistics and affine terms away from their initial values (0, 1), so
            # that normalisation is not an identity the converter could get wrong unnoticed.
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                c = module.num_features
                module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(c, generator=generator) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(c, generator=generator) * 0.1)
            elif isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
            # ConvNeXt's layer scale starts at 1e-6, which would hide its blocks.
            if hasattr(module, "layer_scale") and isinstance(module.layer_scale, torch.nn.Parameter):
                module.layer_scale.copy_(torch.rand(module.layer_scale.shape, generator=generator) * 0.5 + 0.25)
    return model.eval()


def export(model, exporter, path, batch):
    import torch
    x = torch.randn(batch, 3, 224, 224)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        else:
            # The dynamo exporter refuses a dynamic dimension traced at size 1, hence a batch of 2.
            program = torch.onnx.export(model, (torch.randn(2, 3, 224, 224),), dynamo=True, input_names=["input"],
                                        output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
            program.save(path)


def add_penultimate_output(path, copy):
    """Writes to `copy` the model with the input of the last Gemm/MatMul as a second graph output,
    for onnxruntime; returns its name and the opset. graft converts the model as exported."""
    import onnx
    from onnx import helper
    model = onnx.load(path)
    products = [node for node in model.graph.node if node.op_type in ("Gemm", "MatMul")]
    name = products[-1].input[0]
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in inferred.graph.value_info}
    model.graph.output.append(known[name] if name in known else helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    onnx.save(model, copy)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return name, opset


def errors(result, reference):
    difference = np.abs(result.astype(np.float64) - reference.astype(np.float64))
    return float(difference.max()), float(difference.max() / max(np.abs(reference).max(), 1e-30))


def run_graft(graft, *arguments):
    completed = subprocess.run([graft, *arguments], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"graft {arguments[0]} failed ({completed.returncode}): {completed.stderr.strip()}")
    return completed.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "release", "graft"))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--exporters", default="torchscript,dynamo")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="folder to keep the ONNX and .graft files in")
    arguments = parser.parse_args()

    import onnxruntime as ort
    import torch
    torchvision = import_torchvision()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnxruntime {ort.__version__}; "
          f"batch {arguments.batch}, seed {arguments.seed}; relative error = max|graft - ort| / max|ort|", flush=True)
    header = f"{'model':<20} {'exporter':<12} {'opset':>5}  {'output abs':>10} {'output rel':>10}  {'penult. abs':>11} {'penult. rel':>11}  penultimate value"
    print(header)
    folder = arguments.keep or tempfile.mkdtemp(prefix="graft-onnx-zoo-")
    os.makedirs(folder, exist_ok=True)
    failures = 0
    rng = np.random.default_rng(arguments.seed)
    for name in arguments.models.split(","):
        model = build_model(torchvision, name, arguments.seed)
        x = rng.standard_normal((arguments.batch, 3, 224, 224)).astype(np.float32)
        input_path = os.path.join(folder, f"{name}.input.npy")
        np.save(input_path, x)
        for exporter in arguments.exporters.split(","):
            stem = os.path.join(folder, f"{name}-{exporter}")
            try:
                export(model, exporter, stem + ".onnx", arguments.batch)
                penultimate, opset = add_penultimate_output(stem + ".onnx", stem + ".ort.onnx")
                session = ort.InferenceSession(stem + ".ort.onnx", providers=["CPUExecutionProvider"])
                reference_output, reference_features = session.run(["logits", penultimate], {"input": x})
                started = time.time()
                run_graft(arguments.graft, "convert", stem + ".onnx", "-o", stem + ".graft", "--preprocess", "keras-torch")
                summary = json.loads(run_graft(arguments.graft, "inspect", stem + ".graft", "--json"))
                if summary.get("default_feature_layer") != penultimate:
                    raise RuntimeError(f"graft's default feature layer is {summary.get('default_feature_layer')}, not {penultimate}")
                run_graft(arguments.graft, "run", stem + ".graft", "--input", input_path, "--output", stem + ".out.npy")
                run_graft(arguments.graft, "run", stem + ".graft", "--input", input_path, "--output", stem + ".features.npy",
                          "--layer", penultimate)
                output = errors(np.load(stem + ".out.npy"), reference_output)
                features = errors(np.load(stem + ".features.npy").reshape(reference_features.shape), reference_features)
                bad = output[1] > 1e-4 or features[1] > 1e-4
                failures += bad
                print(f"{name:<20} {exporter:<12} {opset:>5}  {output[0]:>10.2e} {output[1]:>10.2e}  {features[0]:>11.2e} "
                      f"{features[1]:>11.2e}  {penultimate}{'  OVER THE BAR' if bad else ''}  [graft {time.time() - started:.1f} s]",
                      flush=True)
            except Exception as error:  # one failing case must not hide the others
                failures += 1
                print(f"{name:<20} {exporter:<12}  FAILED: {str(error)[:400]}", flush=True)
    print(f"{failures} case(s) failed" if failures else "all cases within 1e-4", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
