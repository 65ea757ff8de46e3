#!/usr/bin/env bash
# Creates .venv/ with the reference frameworks graft is checked against: tensorflow-cpu (Keras),
# h5py, numpy, safetensors, OpenCV dnn (Caffe, opencv-python-headless<5), onnxruntime and onnx
# (the runtime benchmark's third engine),
# scikit-learn, protobuf, Pillow (Keras's load_img) and tf_keras (Keras 2 files). graft itself
# never needs Python; the fixture generators, parity scripts and benchmarks in Tools/ do. Usage: Tools/setup-venv.sh [--minimal | --torch]
#   --minimal   numpy, h5py and safetensors only (enough for the format checks)
#   --torch     also torch, torchvision and onnxscript for the ONNX zoo (Tools/onnx-zoo), CPU only
set -euo pipefail
cd "$(dirname "$0")/.."
# The Caffe fixture and zoo scripts compile schemas/caffe.proto with protoc-c, which needs
# google/protobuf/descriptor.proto (Debian libprotobuf-dev).
if ! dpkg-query -W -f='${Status}' libprotobuf-dev 2>/dev/null | grep -q "install ok installed"; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends libprotobuf-dev >&2
fi
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/pip install -q --upgrade pip
if [ "${1:-}" = "--minimal" ]; then
    .venv/bin/pip install -q numpy h5py safetensors
else
    .venv/bin/pip install -q numpy h5py safetensors "opencv-python-headless<5" scikit-learn protobuf tensorflow-cpu onnxruntime onnx openvino pillow
    # Keras 2 (tf.keras) files for the fixtures and the zoo: tf_keras matching tensorflow-cpu,
    # without letting it replace tensorflow-cpu by the full tensorflow package.
    tf_version=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('tensorflow-cpu'))")
    .venv/bin/pip install -q --no-deps "tf_keras==${tf_version%.*}.*"
fi
if [ "${1:-}" = "--torch" ]; then
    # torch and torchvision without their declared dependencies: PyPI's Linux torch wheel pulls
    # several GB of nvidia-* packages that a CPU run never loads. A CPU build of the same version
    # (2.13.0+cpu) is taken where pip's find-links offer one. Their pure-Python dependencies are
    # listed here instead; onnxscript is the dynamo exporter's.
    .venv/bin/pip install -q --no-deps "torch==2.13.0" "torchvision==0.28.0"
    .venv/bin/pip install -q filelock "typing-extensions>=4.10" "setuptools>=77" "sympy>=1.13.3" "networkx>=2.5.1" jinja2 \
        "fsspec>=0.8.5" "onnxscript==0.7.2"
    if ! .venv/bin/python -c "import torch; torch.zeros(1)" 2>/dev/null; then
        echo "setup-venv: torch 2.13.0 without its CUDA libraries does not import here; installing it with them" >&2
        .venv/bin/pip install -q "torch==2.13.0"
    fi
    .venv/bin/python -c "import torch; print('torch', torch.__version__, 'on CPU:', torch.ones(2).sum().item() == 2)"
fi
.venv/bin/python -c "import numpy, h5py, safetensors; print('venv ready: numpy', numpy.__version__, 'h5py', h5py.__version__)"
