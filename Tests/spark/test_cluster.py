#!/usr/bin/env python3
"""The Spark driver on a real Spark standalone cluster (run by Tests/spark/run.sh after
test_spark.py).

    test_cluster.py --graft GRAFT --work DIR

Starts a standalone master and two workers of one core each on 127.0.0.1 (`spark-class
org.apache.spark.deploy.master.Master` and `…deploy.worker.Worker`), builds the relocatable
bundle with Tools/spark/package.sh from GRAFT (`--no-build`: the release binary `make test` just
built, with its libraries and the Swift runtime bundled), and runs the driver in client mode with
graft shipped as `--archives graft.tgz#graft` (no --graft, graft not on PATH). While the job runs,
the test kills one task's graft process with SIGKILL mid-shard. It checks that Spark retried that
task on the cluster (the manifest shows a shard done on attempt 2), and that the merged cache
equals a single-process run: the same rows, no duplicate and no missing one. The master and the
workers are stopped at the end, whatever happened. Prints one line per check and
`N passed, N failed` last.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_spark import DRIVER, HERE, MODEL, ROOT, check, compare_caches, ids_of, tail  # noqa: E402
import test_spark  # noqa: E402

IMAGES = 36
ROWS_PER_SHARD = 12
GRAFT_OPTIONS = ["--preprocess", "keras-tf", "--layer", "gap"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spark_class():
    import pyspark
    return os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-class")


def start(command, log, environment):
    """A daemon in its own process group, so that stopping it stops its JVM too."""
    with open(log, "wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment, start_new_session=True)


def group_alive(process):
    try:
        os.killpg(process.pid, 0)
        return True
    except ProcessLookupError:
        return False


def stop(process):
    """SIGTERM to the daemon's whole process group (a worker's executors are in it), then
    SIGKILL to what is left after 20 s."""
    if group_alive(process):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.time() + 20
    while group_alive(process) and time.time() < deadline:
        process.poll()
        time.sleep(0.2)
    if group_alive(process):
        os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.5)
    process.wait()


def wait_for(path, text, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path, errors="replace") as file:
                if text in file.read():
                    return True
        time.sleep(0.2)
    return False


def kill_one_graft(stop_event, killed):
    """Kills the first `graft features` process that runs from an unpacked bundle, once it has
    run for a moment (mid-shard), with SIGKILL; records its pid and command line."""
    while not stop_event.is_set():
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as file:
                    arguments = file.read().split(b"\0")
            except OSError:
                continue
            if len(arguments) > 2 and arguments[0].endswith(b"/graft/graft") and arguments[1] == b"features" \
                    and b"--limit" not in arguments:
                time.sleep(0.05)
                try:
                    os.kill(int(entry), signal.SIGKILL)
                    killed.append((int(entry), b" ".join(arguments).decode(errors="replace")))
                except ProcessLookupError:
                    continue
                return
        time.sleep(0.005)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--graft", required=True)
    parser.add_argument("--work", required=True)
    arguments = parser.parse_args()
    graft, work = os.path.abspath(arguments.graft), os.path.abspath(arguments.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    images = os.path.join(work, "images")
    # Larger images than test_spark's, in batches of one: a shard takes long enough to be caught.
    subprocess.run([sys.executable, os.path.join(HERE, "make_images.py"), images, "--count", str(IMAGES),
                    "--classes", "3", "--size", "192"], check=True)
    single = os.path.join(work, "single.h5")
    subprocess.run([graft, "features", MODEL, images, "-o", single, "--quiet"] + GRAFT_OPTIONS, check=True)

    bundle = os.path.join(work, "graft.tgz")
    packaged = subprocess.run([os.path.join(ROOT, "Tools", "spark", "package.sh"), "--no-build", "--scratch-path",
                               os.path.dirname(os.path.dirname(graft)), "-o", bundle],
                              capture_output=True, text=True)
    if not check("Tools/spark/package.sh bundles the release graft", packaged.returncode == 0 and os.path.isfile(bundle),
                 packaged.stderr[-2000:]):
        print("%d passed, %d failed" % (test_spark.passed, test_spark.failed))
        return 1

    environment = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
                   "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOG_DIR": os.path.join(work, "logs"),
                   "SPARK_WORKER_DIR": os.path.join(work, "worker"), "PATH": "/usr/bin:/bin"}
    environment.pop("GRAFT_SPARK_FAIL_SHARD", None)
    port = free_port()
    master_url = "spark://127.0.0.1:%d" % port
    daemons = []
    try:
        master_log = os.path.join(work, "master.log")
        daemons.append(start([spark_class(), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                              "--port", str(port), "--webui-port", str(free_port())], master_log, environment))
        check("the standalone master starts", wait_for(master_log, "I have been elected leader", 90), tail(master_log))
        for index in range(2):
            daemons.append(start([spark_class(), "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
                                  "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
                                  "--work-dir", os.path.join(work, "worker%d" % index)],
                                 os.path.join(work, "worker%d.log" % index), environment))
        registered = all(wait_for(os.path.join(work, "worker%d.log" % index), "Successfully registered with master", 90)
                         for index in range(2))
        check("two workers of one core register with it", registered, tail(os.path.join(work, "worker0.log")))

        out = os.path.join(work, "out")
        merged = os.path.join(work, "merged.h5")
        log = os.path.join(work, "driver.log")
        command = [os.path.join(os.path.dirname(sys.executable), "spark-submit"), "--master", master_url,
                   "--deploy-mode", "client", "--conf", "spark.driver.host=127.0.0.1",
                   "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false",
                   "--conf", "spark.task.maxFailures=4", "--conf", "spark.executor.cores=1", "--conf", "spark.task.cpus=1",
                   "--conf", "spark.executor.memory=512m", "--conf", "spark.log.level=WARN",
                   "--conf", "spark.pyspark.python=" + sys.executable, "--conf", "spark.executorEnv.PATH=/usr/bin:/bin",
                   "--archives", bundle + "#graft", DRIVER, "--model", MODEL, "--images", images, "--out", out,
                   "--rows-per-shard", str(ROWS_PER_SHARD), "--batch", "1", "--merge", merged] + GRAFT_OPTIONS
        stop_event, killed = threading.Event(), []
        killer = threading.Thread(target=kill_one_graft, args=(stop_event, killed), daemon=True)
        killer.start()
        started = time.time()
        with open(log, "wb") as output:
            status = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=environment).returncode
        stop_event.set()
        killer.join()
        check("the driver in client mode on the cluster exits 0 (%.1f s)" % (time.time() - started), status == 0,
              "status %d\n%s" % (status, tail(log)))
        check("one task's graft (from the shipped bundle) was killed with SIGKILL mid-shard", len(killed) == 1,
              str(killed))
        if status == 0:
            with open(os.path.join(out, "_manifest.json")) as file:
                manifest = json.load(file)
            attempts = {entry["shard"]: entry["attempt"] for entry in manifest["shards"]}
            check("Spark retried the killed task: one shard done on attempt 2, the others on attempt 1",
                  sorted(attempts.values()) == [1] * (len(attempts) - 1) + [2] and manifest["master"] == master_url,
                  json.dumps(attempts) + " " + manifest["master"])
            check("the tasks ran graft from the --archives bundle",
                  all(entry["graft"].endswith("/graft/graft") for entry in manifest["shards"]),
                  str({entry["graft"] for entry in manifest["shards"]}))
            differences = compare_caches(single, merged)
            merged_ids = ids_of(merged)
            check("the merged cache equals the single-process run, no duplicate and no missing row",
                  not differences and len(merged_ids) == len(set(merged_ids)) == IMAGES,
                  "; ".join(differences) + " (%d ids, %d distinct)" % (len(merged_ids), len(set(merged_ids))))
            leftovers = [name for name in os.listdir(out) if name.startswith(".")]
            check("no temporary part is left", not leftovers, str(leftovers))
    finally:
        for daemon in reversed(daemons):
            stop(daemon)
        alive = [daemon.pid for daemon in daemons if group_alive(daemon)]
        check("the master and the workers (and their executors) are stopped", not alive, "process groups still alive: %s" % alive)
    print("%d passed, %d failed" % (test_spark.passed, test_spark.failed))
    return 0 if test_spark.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
