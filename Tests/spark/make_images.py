#!/usr/bin/env python3
"""Writes a folder of seeded PNG images in class subfolders, for the Spark tests and benchmark.

    make_images.py OUT_DIR --count N [--classes K] [--size S] [--seed SEED] [--spaced]

Each image is S x S (S varies by up to 25% per image, so graft resizes them), 8-bit RGB, with a
smooth gradient, a few rectangles and noise drawn from Python's seeded `random`, so every run
writes the same bytes. Images are spread round-robin over K classes named `class-0` …; with
--spaced the last class is named `class K-1 spaced`, a name a `path label` list cannot carry.
Only the standard library is used (zlib for PNG's deflate), so it runs with any Python 3.
"""
import argparse
import os
import random
import struct
import zlib


def png_bytes(width, height, rows):
    """An 8-bit RGB PNG from `rows`, a list of `height` bytearrays of 3·width bytes."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def image(generator, size):
    width = height = size
    base = [generator.randrange(256) for _ in range(3)]
    slope = [generator.uniform(-2, 2) for _ in range(6)]
    rows = []
    for y in range(height):
        row = bytearray(3 * width)
        for x in range(width):
            for c in range(3):
                value = base[c] + slope[2 * c] * x + slope[2 * c + 1] * y + generator.randrange(-12, 13)
                row[3 * x + c] = max(0, min(255, int(value)))
        rows.append(row)
    for _ in range(generator.randrange(1, 4)):
        x0, y0 = generator.randrange(width), generator.randrange(height)
        x1, y1 = min(width, x0 + generator.randrange(2, width // 2 + 3)), min(height, y0 + generator.randrange(2, height // 2 + 3))
        colour = [generator.randrange(256) for _ in range(3)]
        for y in range(y0, y1):
            for x in range(x0, x1):
                rows[y][3 * x:3 * x + 3] = bytes(colour)
    return png_bytes(width, height, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spaced", action="store_true", help="name the last class with a space")
    arguments = parser.parse_args()
    generator = random.Random(arguments.seed)
    names = ["class-%d" % k for k in range(arguments.classes)]
    if arguments.spaced and arguments.classes > 1:
        names[-1] = "class %d spaced" % (arguments.classes - 1)
    for name in names:
        os.makedirs(os.path.join(arguments.out, name), exist_ok=True)
    for index in range(arguments.count):
        size = max(8, int(arguments.size * generator.uniform(0.75, 1.25)))
        path = os.path.join(arguments.out, names[index % len(names)], "%05d.png" % index)
        with open(path, "wb") as file:
            file.write(image(generator, size))


if __name__ == "__main__":
    main()
