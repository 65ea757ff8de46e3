#!/usr/bin/env python3
"""ONNX export parity: `graft export` checked by onnx.checker and onnxruntime.

    Tools/onnx-export/check.py [--graft PATH] [--work DIR] [--opset 17]
                               [--fixtures] [--keras NAME ...] [--caffe NET ...] [--onnx MODEL ...]

For each model: `graft convert` (the source file) then `graft export` to ONNX, with the values
the reference holds as outputs (`--layer`); then

  * checker   onnx.checker.check_model(full_check=True) on the export;
  * source    onnxruntime on the export against the source framework, max |ort - ref| and
              max |ort - ref| / max |ref| over every compared value (bar: relative 1e-4);
  * trip      the round trip ONNX -> graft -> ONNX: `graft convert export.onnx` and `graft export`
              again, onnxruntime on both exports, max |a - b| (bar: relative 1e-4).

Sources:
  --fixtures  the committed CI fixtures: Keras (Tests/GraftKerasImportTests/Fixtures, Keras's
              outputs), Caffe (Tests/GraftCaffeImportTests/Fixtures, Caffe's), ONNX
              (Tests/GraftONNXImportTests/Fixtures, onnxruntime's on the original file);
  --keras     keras.applications models built, seeded and saved as Tools/keras-zoo does
              (tensorflow-cpu runs them; `all` for every model of that script), the output and
              the penultimate value compared; --top true|false|both (without: avg pooling);
  --caffe     the Caffe zoo prototxts (/work/shared/zoo/caffe) with seeded weights, OpenCV dnn's
              outputs as Tools/caffe-zoo makes them (`all` for every net);
  --onnx      torchvision models exported by torch as Tools/onnx-zoo/run.py does (TorchScript at
              opset 17 and dynamo, --exporters), onnxruntime on the original file for the
              output and the penultimate value (needs torch and torchvision; `all` for every model);
  --large     a .graft of 9 Dense layers of 8192 x 8192 (2.4 GB of weights, written here with
              safetensors), exported with external data and checked against numpy.

Prints one line per model and a Markdown table at the end; exits 1 when a model fails a bar.
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TOLERANCE = 1e-4


def load_script(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Failure(Exception):
    pass


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise Failure(f"{os.path.basename(command[0])} {command[1]} exited {result.returncode}: {lines[-1] if lines else ''}")
    return result


def ort_run(path, inputs, names=None):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {}
    for declared, value in zip(session.get_inputs(), inputs):
        feed[declared.name] = value
    outputs = [o.name for o in session.get_outputs()] if names is None else names
    return dict(zip(outputs, session.run(outputs, feed)))


def compare(actual, expected):
    """(max abs difference, relative max error) of two arrays; inf when the shapes differ."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return float("inf"), float("inf")
    difference = float(np.abs(actual - expected).max()) if actual.size else 0.0
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    return difference, (0.0 if difference == 0 else difference / scale if scale > 0 else float("inf"))


class Checker:
    def __init__(self, graft, work, opset):
        self.graft = graft
        self.work = work
        self.opset = opset
        self.rows = []

    def check(self, label, sources, inputs, references, layers=None, convert_options=()):
        """Converts `sources`, exports with `layers` as outputs (the reference names when None),
        and compares onnxruntime with `references` (output name -> array)."""
        import onnx
        stem = os.path.join(self.work, label.replace("/", "_").replace(" ", "_"))
        row = dict(model=label, checker="-", source=None, trip=None, note="")
        try:
            graft_model = stem + ".graft"
            run([self.graft, "convert", *sources, "-o", graft_model, *convert_options])
            exported = stem + ".onnx"
            layers = list(references) if layers is None else layers
            command = [self.graft, "export", graft_model, "-o", exported, "--opset", str(self.opset)]
            for layer in layers:
                command += ["--layer", layer]
            run(command)
            onnx.checker.check_model(onnx.load(exported), full_check=True)
            row["checker"] = "ok"
            outputs = ort_run(exported, inputs)
            worst = (0.0, 0.0)
            for (name, reference), value in zip(references.items(), outputs.values()):
                worst = max(worst, compare(value, reference), key=lambda pair: pair[1])
            row["source"] = worst
            # Round trip: the export converted back to graft and exported again.
            again_graft = stem + ".trip.graft"
            # Sizes the source left open (a Keras input of any size) are given on the way back.
            declared = onnx.load(exported).graph.input
            open_sizes = any(d.dim_param for i in declared for d in i.type.tensor_type.shape.dim[1:])
            trip_options = ["--input-shape", ",".join(map(str, inputs[0].shape))] if open_sizes and len(inputs) == 1 else []
            run([self.graft, "convert", exported, "-o", again_graft, *trip_options])
            again = stem + ".trip.onnx"
            # The converted graph's outputs are the export's, in order.
            run([self.graft, "export", again_graft, "-o", again, "--opset", str(self.opset)])
            onnx.checker.check_model(onnx.load(again), full_check=True)
            second = ort_run(again, inputs)
            trip = (0.0, 0.0)
            for first_value, second_value in zip(outputs.values(), second.values()):
                trip = max(trip, compare(second_value, first_value), key=lambda pair: pair[1])
            row["trip"] = trip
        except Failure as failure:
            row["note"] = str(failure)[:160]
        except Exception as error:  # noqa: BLE001 - reported in the table
            row["note"] = f"{type(error).__name__}: {str(error).splitlines()[0][:150] if str(error) else ''}"
        self.rows.append(row)
        print(self.format(row), flush=True)
        return row

    @staticmethod
    def passed(row):
        return row["checker"] == "ok" and row["source"] is not None and row["source"][1] <= TOLERANCE \
            and row["trip"] is not None and row["trip"][1] <= TOLERANCE

    def format(self, row):
        def cell(pair):
            return "-" if pair is None else f"{pair[0]:.1e} ({pair[1]:.1e})"
        return f"{row['model']:40} checker {row['checker']:3} source {cell(row['source']):20} trip {cell(row['trip']):20} " \
               f"{'ok' if self.passed(row) else 'FAIL'} {row['note']}"

    def table(self):
        lines = ["| model | onnx.checker | ORT vs source: max abs (rel.) | round trip: max abs (rel.) | verdict |",
                 "| --- | --- | --- | --- | --- |"]
        for row in self.rows:
            def cell(pair):
                return "-" if pair is None else f"{pair[0]:.1e} ({pair[1]:.1e})"
            verdict = "ok" if self.passed(row) else ("FAIL: " + row["note"]).replace("|", "/")
            lines.append(f"| {row['model']} | {row['checker']} | {cell(row['source'])} | {cell(row['trip'])} | {verdict} |")
        return "\n".join(lines)


# MARK: Sources

def keras_fixtures(checker):
    folder = os.path.join(ROOT, "Tests", "GraftKerasImportTests", "Fixtures")
    for name in sorted(os.listdir(folder)):
        case_path = os.path.join(folder, name, "case.json")
        if not os.path.exists(case_path) or not os.path.exists(os.path.join(folder, name, "expected.npy")):
            continue
        case = json.load(open(case_path))
        path = lambda member: os.path.join(folder, name, member)  # noqa: E731
        sources = [path(case["source"])]
        options = ["--config", path(case["config"])] if "config" in case else []
        inputs = [np.load(path("input.npy"))]
        if "second_input" in case:
            inputs.append(np.load(path(case["second_input"])))
        references = {"output": np.load(path("expected.npy"))}
        checker.check(f"keras fixture {name}", sources, inputs, references, layers=[], convert_options=options)


def caffe_fixtures(checker):
    folder = os.path.join(ROOT, "Tests", "GraftCaffeImportTests", "Fixtures")
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    for name, entry in sorted(manifest.items()):
        if "outputs" not in entry or "input" not in entry or not entry.get("caffemodel"):
            continue
        sources = [os.path.join(folder, entry["prototxt"]), os.path.join(folder, entry["caffemodel"])]
        references = {layer: np.load(os.path.join(folder, file)) for layer, file in entry["outputs"].items()}
        options = ["--input-shape", ",".join(map(str, entry["input_shape"]))] if "input_shape" in entry else []
        checker.check(f"caffe fixture {name}", sources, [np.load(os.path.join(folder, entry["input"]))], references,
                      convert_options=options)


def onnx_fixtures(checker):
    folder = os.path.join(ROOT, "Tests", "GraftONNXImportTests", "Fixtures")
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    for name, entry in sorted(manifest.items()):
        if not entry.get("outputs") or entry.get("external") or entry.get("refused"):
            continue
        references = {value: np.load(os.path.join(folder, file)) for value, file in entry["outputs"].items()}
        checker.check(f"onnx fixture {name}", [os.path.join(folder, entry["model"])], [np.load(os.path.join(folder, entry["input"]))],
                      references)


def keras_zoo(checker, names, tops):
    """keras.applications models as Tools/keras-zoo builds them (seeded weights, a .keras archive),
    with Keras's output and penultimate value (the input of the last layer) as references."""
    zoo = load_script("keras_zoo", os.path.join(ROOT, "Tools", "keras-zoo"))
    import keras
    configurations = {"true": [(True, None)], "false": [(False, "avg")], "both": [(True, None), (False, "avg")]}[tops]
    for name in (zoo.MODELS if names == ["all"] else names):
        for include_top, pooling in (configurations if name != "Nested" else [(True, None)]):
            label = name + ("" if include_top else f"-notop-{pooling}")
            keras.utils.set_random_seed(0)
            model = zoo.build(keras, name, include_top, pooling)
            zoo.randomize(model, 1)
            size = model.inputs[0].shape[1]
            x = np.random.default_rng(2).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
            if name.startswith(("EfficientNet", "ConvNeXt", "MobileNetV3")):
                x = (x + 1) * 127.5
            path = os.path.join(checker.work, label + ".keras")
            model.save(path)
            layer = zoo.penultimate_name(model)
            references = {"output": model.predict(x, verbose=0),
                          "penultimate": keras.Model(model.inputs, model.get_layer(layer).output).predict(x, verbose=0)}
            checker.check(f"keras {label}", [path], [x], references, layers=[model.layers[-1].name, layer])
            os.remove(path)


def caffe_zoo(checker, names, zoo_folder):
    zoo = load_script("caffe_zoo", os.path.join(ROOT, "Tools", "caffe-zoo"))
    rng = np.random.default_rng(2024)
    for file in sorted(f for f in os.listdir(zoo_folder) if f.endswith(".prototxt")):
        net = os.path.splitext(file)[0]
        if names != ["all"] and net not in names:
            continue
        _, entry = zoo.prepare(os.path.join(zoo_folder, file), checker.work, rng)
        references = {layer: np.load(os.path.join(checker.work, ref)) for layer, ref in entry["outputs"].items()}
        checker.check(f"caffe {net}", [entry["prototxt"], entry["caffemodel"]], [np.load(entry["input"])], references)


def onnx_zoo(checker, names, exporters):
    """torchvision models exported by torch (TorchScript at opset 17, dynamo at its default), as
    Tools/onnx-zoo/run.py does; the references are onnxruntime's on the original file, for the
    output and the penultimate value (the input of the last Gemm/MatMul)."""
    zoo = load_script("onnx_zoo", os.path.join(ROOT, "Tools", "onnx-zoo", "run.py"))
    torchvision = zoo.import_torchvision()
    for name in (zoo.MODELS if names == ["all"] else names):
        model = zoo.build_model(torchvision, name, 0)
        for exporter in exporters:
            path = os.path.join(checker.work, f"{name}.{exporter}.onnx")
            zoo.export(model, exporter, path, 2)
            penultimate, _ = zoo.add_penultimate_output(path, path + ".ref.onnx")
            x = np.random.default_rng(3).standard_normal((2, 3, 224, 224)).astype(np.float32)
            references = ort_run(path + ".ref.onnx", [x])
            checker.check(f"onnx {name} [{exporter}]", [path], [x], references, layers=["logits", penultimate])


def large_model(checker, layers=9, width=8192):
    """A model past protobuf's 2 GB: its weights must leave as external data."""
    from safetensors.numpy import save_file
    rng = np.random.default_rng(9)
    tensors, nodes, value = {}, [], "x"
    for i in range(layers):
        tensors[f"dense{i}/kernel"] = (rng.standard_normal((width, width), dtype=np.float32) / np.float32(np.sqrt(width)))
        tensors[f"dense{i}/bias"] = rng.standard_normal(width, dtype=np.float32) * np.float32(0.1)
        nodes.append({"name": f"dense{i}", "op": "Dense", "inputs": [value], "outputs": [f"dense{i}"],
                      "output_shapes": [[None, width]], "attributes": {"activation": "tanh"},
                      "weights": {"kernel": f"dense{i}/kernel", "bias": f"dense{i}/bias"}})
        value = f"dense{i}"
    graph = {"format_version": 1, "name": "large", "inputs": [{"name": "x", "shape": [None, width], "layout": "plain"}],
             "outputs": [value], "nodes": nodes, "preprocessing": {},
             "provenance": {"framework": "graft", "converter": "Tools/onnx-export/check.py"}}
    path = os.path.join(checker.work, "large.graft")
    save_file(tensors, path, metadata={"graft": json.dumps(graph)})
    x = rng.standard_normal((2, width), dtype=np.float32)
    expected = x.astype(np.float64)
    for i in range(layers):
        expected = np.tanh(expected @ tensors[f"dense{i}/kernel"].astype(np.float64) + tensors[f"dense{i}/bias"])
    del tensors
    exported = os.path.join(checker.work, "large.onnx")
    row = dict(model=f"large ({layers} x Dense {width}x{width}, external data)", checker="-", source=None, trip=None, note="")
    try:
        run([checker.graft, "export", path, "-o", exported])
        import onnx
        onnx.checker.check_model(exported, full_check=True)
        row["checker"] = "ok"
        sizes = (os.path.getsize(exported), os.path.getsize(exported + ".data"))
        first = ort_run(exported, [x])[value]
        row["source"] = compare(first, expected)
        # Round trip: the importer reads the external data in place, the exporter writes it again.
        os.remove(path)
        again_graft = os.path.join(checker.work, "large.trip.graft")
        run([checker.graft, "convert", exported, "-o", again_graft])
        again = os.path.join(checker.work, "large.trip.onnx")
        run([checker.graft, "export", again_graft, "-o", again])
        row["trip"] = compare(list(ort_run(again, [x]).values())[0], first)
        row["note"] = f"model {sizes[0]} B + data {sizes[1] / 1e9:.2f} GB, source = numpy float64"
    except Exception as error:  # noqa: BLE001 - reported in the table
        row["note"] = f"{type(error).__name__}: {str(error).splitlines()[0][:150] if str(error) else ''}"
    checker.rows.append(row)
    print(checker.format(row), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graft", default=os.path.join(ROOT, ".build", "debug", "graft"))
    parser.add_argument("--work", help="folder for the files (default: a temporary folder)")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--fixtures", action="store_true")
    parser.add_argument("--keras", nargs="*", default=[])
    parser.add_argument("--top", choices=["true", "false", "both"], default="true", help="Keras models with or without their top")
    parser.add_argument("--caffe", nargs="*", default=[])
    parser.add_argument("--caffe-zoo", default="/work/shared/zoo/caffe")
    parser.add_argument("--onnx", nargs="*", default=[])
    parser.add_argument("--exporters", default="torchscript,dynamo", help="torch exporters for --onnx")
    parser.add_argument("--large", action="store_true")
    arguments = parser.parse_args()
    work = arguments.work or tempfile.mkdtemp(prefix="graft-onnx-export-")
    os.makedirs(work, exist_ok=True)
    checker = Checker(os.path.abspath(arguments.graft), work, arguments.opset)
    if arguments.fixtures:
        keras_fixtures(checker)
        caffe_fixtures(checker)
        onnx_fixtures(checker)
    if arguments.keras:
        keras_zoo(checker, arguments.keras, arguments.top)
    if arguments.caffe:
        caffe_zoo(checker, arguments.caffe, arguments.caffe_zoo)
    if arguments.onnx:
        onnx_zoo(checker, arguments.onnx, arguments.exporters.split(","))
    if arguments.large:
        large_model(checker)
    print()
    print(checker.table())
    return 0 if all(Checker.passed(row) for row in checker.rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.exit(130)
