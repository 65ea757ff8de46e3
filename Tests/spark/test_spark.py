#!/usr/bin/env python3
"""End-to-end test of Tools/spark/graft_features.py on a local Spark (run by Tests/spark/run.sh).

    test_spark.py --graft GRAFT --work DIR

Writes seeded PNG images, runs a single-process `graft features` as the reference, then the Spark
driver at local[2,2] (two task slots, two attempts per task) on loopback only, and checks that
the merged and virtual caches equal the reference byte for byte, that a failed attempt is
retried and recorded, that a rerun resumes (keeps good parts, redoes missing or wrong ones),
that the binaryFiles tar path (file:// URL) and the tar path for folders a list cannot express
give the same features, that Parquet parts read back by Spark equal the single run row for
row, and that a graft error fails the job with graft's message and no _SUCCESS. Prints one line per check and `N passed, N failed` last.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DRIVER = os.path.join(ROOT, "Tools", "spark", "graft_features.py")
MODEL = os.path.join(ROOT, "Samples", "tiny-cnn.graft")
# The model records no preprocessing; the test asks for two layers so both are compared.
GRAFT_OPTIONS = ["--preprocess", "keras-tf", "--layer", "gap", "--layer", "conv1"]
BATCH = 4
# 60 images: 3 shards of 20, run in batches of 3 (the last one short) against a single run in
# batches of 4: features do not depend on the batch, so shard and batch sizes are free.
ROWS_PER_SHARD = 20
SHARD_BATCH = 3
IMAGES = 60

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print("ok   - %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL - %s%s" % (name, (": " + detail) if detail else ""), flush=True)
    return condition


def spark_submit(arguments, log, environment_extra=None, submit_options=()):
    """Runs the driver on local[2,2], loopback only; returns (exit status, seconds)."""
    environment = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
                   "PYSPARK_DRIVER_PYTHON": sys.executable}
    environment.pop("GRAFT_SPARK_FAIL_SHARD", None)
    environment.update(environment_extra or {})
    command = [os.path.join(os.path.dirname(sys.executable), "spark-submit"), "--master", "local[2,2]",
               "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
               "--conf", "spark.ui.enabled=false", "--conf", "spark.log.level=WARN"] + list(submit_options) + [DRIVER] + arguments
    started = time.time()
    with open(log, "wb") as output:
        status = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=environment).returncode
    return status, time.time() - started


def tail(path, lines=15):
    with open(path, errors="replace") as file:
        return "".join(file.readlines()[-lines:])


def raw(dataset):
    """A dataset's values as bytes-comparable data: float and int arrays as raw bytes, strings as bytes."""
    if dataset.dtype.kind == "O" or h5py.check_string_dtype(dataset.dtype) is not None:
        return [value if isinstance(value, bytes) else str(value).encode() for value in dataset[()]]
    array = dataset[()]
    return (str(array.dtype), array.shape, array.tobytes())


def compare_caches(reference_path, candidate_path):
    """Differences in /features/*, /labels, /ids, /classes and the provenance that must agree."""
    differences = []
    with h5py.File(reference_path, "r") as reference, h5py.File(candidate_path, "r") as candidate:
        rows = int(reference.attrs["rows"])
        if int(candidate.attrs["rows"]) != rows:
            differences.append("rows %d != %d" % (int(candidate.attrs["rows"]), rows))
        layers = sorted(reference["features"].keys())
        if sorted(candidate["features"].keys()) != layers:
            differences.append("layers %s != %s" % (sorted(candidate["features"].keys()), layers))
        for name in ["features/" + layer for layer in layers] + ["labels", "ids"]:
            if name not in candidate:
                differences.append("%s missing" % name)
                continue
            mine = candidate[name][:rows]
            theirs = reference[name][:rows]
            if mine.dtype != theirs.dtype or mine.shape != theirs.shape:
                differences.append("%s: %s %s != %s %s" % (name, mine.dtype, mine.shape, theirs.dtype, theirs.shape))
            elif mine.dtype.kind == "O":
                if [bytes(value) if isinstance(value, bytes) else value.encode() for value in mine] != \
                        [bytes(value) if isinstance(value, bytes) else value.encode() for value in theirs]:
                    differences.append("%s differ" % name)
            elif mine.tobytes() != theirs.tobytes():
                differences.append("%s differ in %d rows" % (name, int(np.sum(np.any(
                    mine.reshape(rows, -1).view(np.uint8) != theirs.reshape(rows, -1).view(np.uint8), axis=1)))))
        if raw(candidate["classes"]) != raw(reference["classes"]):
            differences.append("/classes differ")
        for attribute in ("model_sha256", "model_name", "layers", "pool", "preprocessing"):
            if str(candidate.attrs.get(attribute)) != str(reference.attrs.get(attribute)):
                differences.append("attribute %s differs" % attribute)
    return differences


def compare_parquet_with_cache(folder, cache, layers):
    """Reads `folder` with Spark (spark.read.parquet) and compares it, matched by id, with the
    committed rows of `cache`; returns the differences found."""
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master("local[1]").appName("graft-parquet-check") \
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate()
    try:
        frame = spark.read.parquet(folder)
        rows = {row["id"]: row for row in frame.collect()}
        columns = frame.columns
    finally:
        spark.stop()
    problems = []
    expected_columns = ["id", "label", "class"] + list(layers)
    if sorted(columns) != sorted(expected_columns):
        problems.append("columns %s, expected %s" % (columns, expected_columns))
        return problems
    with h5py.File(cache, "r") as file:
        count = int(file.attrs["rows"])
        ids = [value.decode() if isinstance(value, bytes) else value for value in file["ids"][:count]]
        labels = file["labels"][:count]
        classes = [value.decode() if isinstance(value, bytes) else value for value in file["classes"][:]]
        features = {layer: file["features/" + layer][:count] for layer in layers}
    if sorted(rows) != sorted(ids):
        problems.append("ids differ: %d in Parquet, %d in the cache" % (len(rows), len(ids)))
        return problems
    for position, identifier in enumerate(ids):
        row = rows[identifier]
        if row["label"] != labels[position] or row["class"] != (classes[labels[position]] if labels[position] >= 0 else None):
            problems.append("%s: label %s/%s, expected %s" % (identifier, row["label"], row["class"], labels[position]))
        for layer in layers:
            if not np.array_equal(np.asarray(row[layer], np.float32), features[layer][position]):
                problems.append("%s: layer %s differs" % (identifier, layer))
    return problems[:5]


def ids_of(path):
    with h5py.File(path, "r") as file:
        return [value.decode() if isinstance(value, bytes) else value for value in file["ids"][:int(file.attrs["rows"])]]


def export_sha256(graft, cache, layer):
    data = subprocess.run([graft, "cache", "export", cache, "--layer", layer, "--format", "npy"],
                          check=True, capture_output=True).stdout
    return hashlib.sha256(data).hexdigest()


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.startswith(".") or name.endswith(".tmp") or "creating" in name]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--graft", required=True)
    parser.add_argument("--work", required=True)
    arguments = parser.parse_args()
    graft, work = os.path.abspath(arguments.graft), os.path.abspath(arguments.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    images = os.path.join(work, "images")
    spaced = os.path.join(work, "spaced")
    subprocess.run([sys.executable, os.path.join(HERE, "make_images.py"), images, "--count", str(IMAGES),
                    "--classes", "3", "--size", "32"], check=True)
    subprocess.run([sys.executable, os.path.join(HERE, "make_images.py"), spaced, "--count", "24", "--classes", "2",
                    "--size", "30", "--seed", "11", "--spaced"], check=True)

    # The reference: one process over the whole folder, same batch size, graft's default threads.
    single = os.path.join(work, "single.h5")
    subprocess.run([graft, "features", MODEL, images, "-o", single, "--batch", str(BATCH), "--quiet"] + GRAFT_OPTIONS,
                   check=True)
    single_spaced = os.path.join(work, "single-spaced.h5")
    subprocess.run([graft, "features", MODEL, spaced, "-o", single_spaced, "--batch", str(BATCH), "--quiet"]
                   + GRAFT_OPTIONS, check=True)
    reference_ids = ids_of(single)
    check("the reference run has %d rows" % IMAGES, len(reference_ids) == IMAGES, str(len(reference_ids)))

    common = ["--model", MODEL, "--graft", graft, "--rows-per-shard", str(ROWS_PER_SHARD), "--batch", str(SHARD_BATCH)]

    # 1. Folder on a shared path, shard 1 fails on its first attempt, copied merge.
    out = os.path.join(work, "out")
    merged = os.path.join(work, "merged.h5")
    log = os.path.join(work, "run1.log")
    status, seconds = spark_submit(common + ["--images", images, "--out", out, "--merge", merged] + GRAFT_OPTIONS, log,
                                   {"GRAFT_SPARK_FAIL_SHARD": "1"})
    if not check("driver with an injected failure exits 0 (%.1f s)" % seconds, status == 0, "status %d\n%s" % (status, tail(log))):
        print("%d passed, %d failed" % (passed, failed + 1))
        return 1
    differences = compare_caches(single, merged)
    check("merged cache equals the single run byte for byte (/features/*, /labels, /ids, /classes)",
          not differences, "; ".join(differences))
    with open(os.path.join(out, "_manifest.json")) as file:
        manifest = json.load(file)
    shards = {entry["shard"]: entry for entry in manifest["shards"]}
    check("manifest: 3 shards, shard 1 succeeded on attempt 2, shards 0 and 2 on attempt 1",
          sorted(shards) == [0, 1, 2] and shards[1]["attempt"] == 2 and shards[0]["attempt"] == 1
          and shards[2]["attempt"] == 1, json.dumps([(k, v["attempt"]) for k, v in shards.items()]))
    check("manifest: rows add up and the failed attempt's temporary file was removed",
          manifest["rows"] == IMAGES and sum(entry["rows"] for entry in manifest["shards"]) == IMAGES
          and any(name.startswith(".part-00001.h5.") for name in manifest["removed_temporary_files"]),
          json.dumps(manifest["removed_temporary_files"]))
    check("_SUCCESS written, no temporary files remain", os.path.exists(os.path.join(out, "_SUCCESS")) and not leftovers(out),
          str(leftovers(out)))
    merged_ids = ids_of(merged)
    check("no duplicate ids in the merged cache", len(merged_ids) == len(set(merged_ids)) == IMAGES)
    check("manifest's merged features SHA-256 equals `graft cache export` of the single run",
          all(manifest["merged"]["features_sha256"][layer] == export_sha256(graft, single, layer) for layer in ("gap", "conv1")))

    # 2. Resume into the same folder with a virtual merge: shard 1 is kept, shard 0 is replaced
    #    by shard 1's file (wrong rows: must be redone), shard 2 is missing (must be redone).
    shutil.copyfile(os.path.join(out, "part-00001.h5"), os.path.join(out, "part-00000.h5"))
    os.unlink(os.path.join(out, "part-00002.h5"))
    virtual = os.path.join(work, "virtual.h5")
    log = os.path.join(work, "run2.log")
    status, seconds = spark_submit(common + ["--images", images, "--out", out, "--virtual", virtual] + GRAFT_OPTIONS, log)
    check("resumed run with --virtual exits 0 (%.1f s)" % seconds, status == 0, "status %d\n%s" % (status, tail(log)))
    if status == 0:
        with open(os.path.join(out, "_manifest.json")) as file:
            shards = {entry["shard"]: entry for entry in json.load(file)["shards"]}
        check("resume keeps the good part and redoes the wrong and the missing one",
              [shards[index]["skipped"] for index in range(3)] == [False, True, False],
              json.dumps([shards[index]["skipped"] for index in range(3)]))
        differences = compare_caches(single, virtual)
        with h5py.File(virtual, "r") as file:
            is_virtual = all(file["features/" + layer].is_virtual for layer in file["features"])
        check("virtual cache reads the same as the single run", is_virtual and not differences,
              "virtual=%s; %s" % (is_virtual, "; ".join(differences)))

    # 3. The same folder as a file:// URL: Spark reads the bytes (binaryFiles), graft gets tar streams.
    out_url = os.path.join(work, "out-url")
    merged_url = os.path.join(work, "merged-url.h5")
    log = os.path.join(work, "run3.log")
    status, seconds = spark_submit(common + ["--images", "file://" + images, "--out", out_url, "--merge", merged_url]
                                   + GRAFT_OPTIONS, log)
    check("binaryFiles run (file:// URL) exits 0 (%.1f s)" % seconds, status == 0, "status %d\n%s" % (status, tail(log)))
    if status == 0:
        differences = compare_caches(single, merged_url)
        check("binaryFiles tar path gives the same cache as the single run", not differences, "; ".join(differences))

    # 4. A folder whose class name has a space (a list cannot carry it): tar streams of the files.
    #    graft and the model come as --archives and --files (no --graft, graft not on PATH), as on
    #    a cluster; the archive holds this machine's graft, not a relocatable bundle.
    archive = os.path.join(work, "shipped", "graft.tgz")
    os.makedirs(os.path.dirname(archive))
    with tarfile.open(archive, "w:gz") as bundle:
        bundle.add(graft, arcname="graft")
    shipped_model = os.path.join(work, "shipped", "trunk.graft")
    shutil.copyfile(MODEL, shipped_model)
    out_spaced = os.path.join(work, "out-spaced")
    merged_spaced = os.path.join(work, "merged-spaced.h5")
    log = os.path.join(work, "run4.log")
    shipped = ["--model", "trunk.graft", "--rows-per-shard", str(ROWS_PER_SHARD), "--batch", str(SHARD_BATCH)]
    status, seconds = spark_submit(shipped + ["--images", spaced, "--out", out_spaced, "--merge", merged_spaced]
                                   + GRAFT_OPTIONS, log, {"PATH": "/usr/bin:/bin"},
                                   ["--archives", archive + "#graft", "--files", shipped_model])
    check("folder with a spaced class name, graft from --archives, model from --files: exits 0 (%.1f s)" % seconds,
          status == 0, "status %d\n%s" % (status, tail(log)))
    if status == 0:
        differences = compare_caches(single_spaced, merged_spaced)
        with open(os.path.join(out_spaced, "_manifest.json")) as file:
            spaced_manifest = json.load(file)
        mode = spaced_manifest["input_mode"]
        check("spaced class names: tar streams of the shared files, same cache as the single run",
              mode == "files" and not differences, "mode %s; %s" % (mode, "; ".join(differences)))
        binaries = {entry["graft"] for entry in spaced_manifest["shards"]}
        check("the tasks ran the graft unpacked from --archives", all(path.endswith("/graft/graft") for path in binaries),
              str(binaries))

    # 6. Parquet parts (shard 2 fails on its first attempt), read back by Spark as one dataset:
    #    row for row (matched by id) the single run's features, labels and classes.
    out_parquet = os.path.join(work, "out-parquet")
    log = os.path.join(work, "run6.log")
    status, seconds = spark_submit(common + ["--images", images, "--out", out_parquet, "--format", "parquet"] + GRAFT_OPTIONS,
                                   log, {"GRAFT_SPARK_FAIL_SHARD": "2"})
    check("Parquet run with an injected failure exits 0 (%.1f s)" % seconds, status == 0, "status %d\n%s" % (status, tail(log)))
    if status == 0:
        names = sorted(os.listdir(out_parquet))
        check("Parquet parts, manifest and _SUCCESS, no temporary files",
              names == ["_SUCCESS", "_manifest.json", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"],
              str(names))
        problems = compare_parquet_with_cache(out_parquet, single, ("gap", "conv1"))
        check("spark.read.parquet of the parts equals the single-process cache row for row", not problems, "; ".join(problems))
        status, seconds = spark_submit(common + ["--images", images, "--out", out_parquet, "--format", "parquet"] + GRAFT_OPTIONS,
                                       os.path.join(work, "run6b.log"))
        with open(os.path.join(out_parquet, "_manifest.json")) as file:
            skipped = [entry["skipped"] for entry in json.load(file)["shards"]]
        check("a rerun keeps every Parquet part (%.1f s)" % seconds, status == 0 and skipped == [True, True, True], str(skipped))

    # 5. graft refuses an option: the job fails after the retries, with graft's message, no _SUCCESS.
    out_bad = os.path.join(work, "out-bad")
    log = os.path.join(work, "run5.log")
    status, seconds = spark_submit(common + ["--images", images, "--out", out_bad, "--pool", "sideways"], log)
    with open(log, errors="replace") as file:
        text = file.read()
    check("a graft error fails the job (status 70) with graft's message and no _SUCCESS (%.1f s)" % seconds,
          status == 70 and "graft_features.py: error: the Spark job failed" in text and "--pool must be" in text
          and not os.path.exists(os.path.join(out_bad, "_SUCCESS")), "status %d\n%s" % (status, tail(log)))

    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
