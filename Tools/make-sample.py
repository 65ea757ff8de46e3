#!/usr/bin/env python3
"""Makes the data of the demo (Samples/pipeline.sh): a small CNN pretrained on digits 0-4 and
PNG images of digits 5-9 to transfer it to.

The digits are scikit-learn's handwritten digits (load_digits: 8x8 images, 17 grey levels),
scaled to 0-255 and upscaled to 32x32 with PIL's bilinear resize. The CNN is trained with Keras
on every image of digits 0-4 and saved as a Keras 3 legacy HDF5 file; it reads raw 0-255 pixels
(a Rescaling layer divides by 255), so graft features runs it with --preprocess none. Images of
digits 5-9 are written as 8-bit grey PNGs to Samples/digits/{train,test}/<digit>/, 50 training
and 30 test images per digit, chosen with a fixed seed.

    .venv/bin/python Tools/make-sample.py        # rewrites Samples/digits-cnn.h5 and Samples/digits/
"""
import os
import shutil
import sys

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Samples")
SIZE = 32
TRAIN_PER_DIGIT = 50
TEST_PER_DIGIT = 30


def upscaled(images8):
    """8x8 images with values 0..16 -> uint8 32x32 images (PIL bilinear)."""
    out = np.empty((len(images8), SIZE, SIZE), dtype=np.uint8)
    for i, image in enumerate(images8):
        small = Image.fromarray(np.round(image * 255.0 / 16.0).astype(np.uint8), mode="L")
        out[i] = np.asarray(small.resize((SIZE, SIZE), Image.BILINEAR))
    return out


def train_trunk(pixels, labels, path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from keras import layers

    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1), name="image"),
            layers.Rescaling(1.0 / 255, name="rescale"),
            layers.Conv2D(16, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(32, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(64, activation="relu", name="features"),
            layers.Dropout(0.3, name="dropout"),
            layers.Dense(5, activation="softmax", name="digits0to4"),
        ],
        name="digits_cnn",
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = pixels[..., None].astype("float32")
    history = model.fit(x, labels, epochs=30, batch_size=32, validation_split=0.15, verbose=0)
    print(f"trunk: digits 0-4, {len(x)} images, validation accuracy {history.history['val_accuracy'][-1]:.3f}")
    model.save(path, include_optimizer=False)


def main():
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = upscaled(digits.images)
    target = digits.target

    source = target < 5
    os.makedirs(ROOT, exist_ok=True)
    train_trunk(pixels[source], target[source], os.path.join(ROOT, "digits-cnn.h5"))

    folder = os.path.join(ROOT, "digits")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    rng = np.random.default_rng(2024)
    for digit in range(5, 10):
        indices = rng.permutation(np.flatnonzero(target == digit))
        for split, chosen in (("train", indices[:TRAIN_PER_DIGIT]),
                              ("test", indices[TRAIN_PER_DIGIT:TRAIN_PER_DIGIT + TEST_PER_DIGIT])):
            out = os.path.join(folder, split, str(digit))
            os.makedirs(out, exist_ok=True)
            for index in chosen:
                Image.fromarray(pixels[index], mode="L").save(os.path.join(out, f"{index:04d}.png"), optimize=True)
    print(f"images: digits 5-9, {TRAIN_PER_DIGIT} training and {TEST_PER_DIGIT} test images each, in {folder}")


if __name__ == "__main__":
    sys.exit(main())
