#!/usr/bin/env python3
"""Runs `graft features` on a Spark cluster: contiguous shards, idempotent parts, an exact merge.

    spark-submit [--master ...] [--archives graft.tgz#graft] [--files trunk.graft] \\
        Tools/spark/graft_features.py --model trunk.graft --images LIST|DIR|URL --out OUTDIR \\
        [--graft PATH] [--rows-per-shard 2048] [--threads-per-task K] \\
        [--format h5|parquet] [--merge CACHE.h5 | --virtual CACHE.h5] [graft features options ...]

The driver reads the input (a `path label` list, a folder of class subfolders, or a folder URL
such as hdfs://…, s3a://… or file://…), fixes the class list, and cuts the rows into contiguous
shards of --rows-per-shard rows. Shard i always holds rows [i·R, (i+1)·R), whatever the
scheduling, so its content never depends on which executor ran it or how often.

Each shard becomes OUTDIR/part-%05d.h5, written by one `graft features` process: the rows go to
its standard input (a list, or for a folder URL a tar stream of the bytes Spark read with
binaryFiles), into a scratch file on the executor's local disk, which is then copied to a
temporary name in OUTDIR and renamed into place. A retried or duplicated attempt therefore
never leaves a partial part, and a part that already holds exactly the shard's rows with the
provenance this run would record is kept: rerunning the same command resumes the job.

With --format parquet each shard becomes OUTDIR/part-%05d.parquet instead, written with pyarrow
from the shard's cache (made as above on the executor's local disk) and committed the same way:
columns `id` (string), `label` (int64, −1 unlabelled), `class` (string, null unlabelled) and one
`fixed_size_list<float32>` column per layer, named after the layer, in graft's row order; the
provenance goes into the file's key-value metadata (`graft.model_sha256`, `graft.layers`,
`graft.preprocessing`, `graft.pool`, and `graft.cache_info`, the shard cache's `graft cache info
--json` with its failures). `spark.read.parquet(OUTDIR)` then reads the whole job as one dataset,
and the executors need pyarrow.

Then the driver checks the row totals, removes temporary files left by failed attempts, writes
OUTDIR/_manifest.json and OUTDIR/_SUCCESS, and with --merge runs `graft cache merge` over the
parts in shard order (--virtual: an HDF5 virtual-dataset cache over the parts).

Options the driver does not know pass through to `graft features` unchanged (--layer, --pool,
--preprocess, --compress, --strict, ...). The driver itself handles --batch, --classes,
--classes-file, --root and --limit, which must be applied to the whole input, not per shard.

The executors need only Python's standard library, pyspark and the graft binary, found as
--graft PATH, else `graft` unpacked from `--archives graft.tgz#graft`, else `graft` on PATH.

GRAFT_SPARK_FAIL_SHARD=I (test only, read by the driver) makes the first attempt of shard I fail
after its part was copied to its temporary name and before the rename.
"""
import argparse
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid

# The same as graft's InputList.imageExtensions: the driver must list a folder as graft does.
IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff"}
PART_PREFIX = "part-"
TEMPORARY_PREFIX = ".part-"
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
STDERR_TAIL_LINES = 20
# Mark the part of a task's exception the driver shows (Spark wraps it in JVM stack traces).
TASK_ERROR = "[graft task]"
TASK_ERROR_END = "[end of graft task error]"


class UsageError(Exception):
    """A mistake in the command line or the input; the driver prints it and exits 64 or 65."""

    def __init__(self, message, status=64):
        super().__init__(message)
        self.status = status


# MARK: Command line

def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="graft_features.py", allow_abbrev=False,
        description="Shard `graft features` across Spark executors; unknown options pass through to graft.")
    parser.add_argument("--model", required=True, help="the .graft model (a path, or the name of a --files entry)")
    parser.add_argument("--images", required=True,
                        help="a 'path label' list file, a folder of class subfolders, or a folder URL (hdfs://, s3a://, file://)")
    parser.add_argument("--out", required=True, help="the folder for part-NNNNN.h5, _manifest.json and _SUCCESS")
    parser.add_argument("--graft", help="the graft binary on the executors (default: from --archives …#graft, else PATH)")
    parser.add_argument("--rows-per-shard", type=int, default=2048, help="rows per shard (default 2048)")
    parser.add_argument("--threads-per-task", type=int,
                        help="graft --threads and OPENBLAS_NUM_THREADS per task (default: spark.task.cpus)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--merge", metavar="CACHE.h5", help="copy the parts, in shard order, into one cache")
    target.add_argument("--virtual", metavar="CACHE.h5", help="write a cache of HDF5 virtual datasets over the parts")
    parser.add_argument("--format", choices=("h5", "parquet"), default="h5",
                        help="the parts' format: graft's HDF5 caches (default) or Parquet files for Spark (needs pyarrow)")
    # graft features options that apply to the whole input, so the driver applies them.
    parser.add_argument("--batch", type=int, default=32, help="graft --batch (default 32)")
    parser.add_argument("--classes", help="the class list, comma-separated (as graft --classes)")
    parser.add_argument("--classes-file", help="a file with one class name per line (as graft --classes-file)")
    parser.add_argument("--root", help="the folder relative paths in a list are read from (default: the driver's working folder)")
    parser.add_argument("--limit", type=int, help="use only the first N inputs")
    arguments, passthrough = parser.parse_known_args(argv)

    for option in passthrough:
        name = option.split("=", 1)[0]
        if name in ("-o", "--output", "--tar", "--threads"):
            hint = {"--threads": "use --threads-per-task"}.get(name, "the driver sets it")
            raise UsageError("graft option %s cannot be passed through (%s)" % (name, hint))
    if arguments.rows_per_shard < 1:
        raise UsageError("--rows-per-shard must be 1 or more")
    if arguments.batch < 1:
        raise UsageError("--batch must be 1 or more")
    if arguments.threads_per_task is not None and arguments.threads_per_task < 1:
        raise UsageError("--threads-per-task must be 1 or more")
    if arguments.classes is not None and arguments.classes_file is not None:
        raise UsageError("give --classes or --classes-file, not both")
    if arguments.format == "parquet" and (arguments.merge or arguments.virtual):
        raise UsageError("--merge and --virtual merge HDF5 parts; Parquet parts are one dataset already "
                         "(spark.read.parquet(OUTDIR))")
    if arguments.limit is not None and arguments.limit < 0:
        raise UsageError("--limit must not be negative")
    if "://" in arguments.out and not arguments.out.startswith("file://"):
        raise UsageError("--out must be a folder on a file system the driver and the executors share "
                         "(see the README on HDFS and S3)")
    arguments.out = strip_file_scheme(arguments.out)
    return arguments, passthrough


def strip_file_scheme(path):
    if path.startswith("file://"):
        return path[len("file://"):] or "/"
    return path


# MARK: Inputs, as graft resolves them

def is_decimal_integer(text):
    return 0 < len(text.encode()) <= 18 and all("0" <= character <= "9" for character in text)


def resolve_classes(class_names, fixed):
    """graft's class order: a fixed list as given; otherwise byte order, or numeric order when
    every name is a decimal integer (then shorter first among equal values)."""
    if fixed is not None:
        return list(fixed)
    names = set(class_names)
    if names and all(is_decimal_integer(name) for name in names):
        return sorted(names, key=lambda name: (int(name), len(name.encode())))
    return sorted(names, key=lambda name: name.encode())


def parse_list(text):
    """(id, class name or None) per line, split at the last space as graft does."""
    entries = []
    for line in text.split("\n"):
        line = line.rstrip("\r \t")
        if not line:
            continue
        if " " in line:
            space = line.rindex(" ")
            entries.append((line[:space], line[space + 1:]))
        else:
            entries.append((line, None))
    return entries


def has_image_extension(name):
    dot = name.rfind(".")
    return dot > 0 and name[dot + 1:].lower() in IMAGE_EXTENSIONS


def folder_order_key(relative_path):
    """Sorts relative file paths the way graft lists a folder: top-level files first, then each
    class folder in byte order, its subfolders in path order and files by name within each."""
    parts = relative_path.split("/")
    if len(parts) == 1:
        return (0, b"", b"", parts[0].encode())
    return (1, parts[0].encode(), "/".join(parts[:-1]).encode(), parts[-1].encode())


def list_posix_folder(folder):
    """Relative paths of the image files under `folder` (symbolic links followed)."""
    found = []
    for directory, folders, files in os.walk(folder, followlinks=True):
        relative = os.path.relpath(directory, folder)
        for name in files:
            if has_image_extension(name) and os.path.isfile(os.path.join(directory, name)):
                found.append(name if relative == "." else relative + "/" + name)
    return found


def list_hadoop_folder(spark_context, url):
    """(relative path, URL as binaryFiles names it) of the image files under a folder URL.
    Names starting with '.' or '_' are left out, as Hadoop's input formats skip them."""
    from py4j.protocol import Py4JError
    jvm = spark_context._jvm
    try:
        root = jvm.org.apache.hadoop.fs.Path(url)
        file_system = root.getFileSystem(spark_context._jsc.hadoopConfiguration())
        is_folder = file_system.exists(root) and file_system.getFileStatus(root).isDirectory()
    except Py4JError as error:
        lines = [line.strip().lstrip(": ") for line in str(error).splitlines()]
        cause = next((line for line in lines if re.match(r"^[\w.$]+(Exception|Error): ", line)), lines[-1] if lines else "")
        raise UsageError("cannot reach '%s': %s" % (url, cause), status=66)
    if not is_folder:
        raise UsageError("'%s' is not a folder; a URL input must be a folder of class subfolders" % url, status=66)
    qualified = file_system.makeQualified(root).toString().rstrip("/")
    found = []
    iterator = file_system.listFiles(root, True)
    while iterator.hasNext():
        url_of_file = iterator.next().getPath().toString()
        if not url_of_file.startswith(qualified + "/"):
            raise UsageError("cannot place '%s' under '%s'" % (url_of_file, qualified), status=65)
        relative = url_of_file[len(qualified) + 1:]
        if any(part.startswith((".", "_")) for part in relative.split("/")) or not has_image_extension(relative):
            continue
        found.append((relative, url_of_file))
    return found


class Inputs:
    """The job's rows in graft's order: ids, class names (None: unlabelled), the class list,
    and how executors reach the images."""

    def __init__(self, ids, class_names, classes, mode, root=None, urls=None):
        self.ids = ids
        self.class_names = class_names
        self.classes = classes
        self.mode = mode          # "list": graft reads paths; "files": task tars shared files; "url": binaryFiles
        self.root = root          # list and files modes: the folder relative ids are read from
        self.urls = urls          # url mode: the URL binaryFiles names each row with


def read_inputs(arguments, spark_context):
    fixed = None
    if arguments.classes is not None:
        fixed = arguments.classes.split(",")
    elif arguments.classes_file is not None:
        try:
            with open(arguments.classes_file, encoding="utf-8") as file:
                fixed = [line for line in file.read().splitlines() if line]
        except OSError as error:
            raise UsageError("cannot read --classes-file '%s': %s" % (arguments.classes_file, error.strerror), status=66)

    images = arguments.images
    urls = None
    if "://" in images:
        if arguments.root is not None:
            raise UsageError("--root applies to a list, not to a folder URL")
        listed = sorted(list_hadoop_folder(spark_context, images), key=lambda entry: folder_order_key(entry[0]))
        entries = [(relative, relative.split("/")[0] if "/" in relative else None) for relative, _ in listed]
        urls = [url for _, url in listed]
        mode, root = "url", None
    elif os.path.isdir(images):
        if arguments.root is not None:
            raise UsageError("--root applies to a list, not to a folder")
        relatives = sorted(list_posix_folder(images), key=folder_order_key)
        entries = [(relative, relative.split("/")[0] if "/" in relative else None) for relative in relatives]
        root = os.path.abspath(images)
        # A list line is split at its last space, so a class name with a space, or an
        # unlabelled id with one, cannot be passed as a list; such folders go as tar streams.
        expressible = all((name is None and " " not in identifier) or (name is not None and " " not in name)
                          for identifier, name in entries)
        expressible = expressible and not any("\n" in identifier or "\r" in identifier for identifier, _ in entries)
        mode = "list" if expressible else "files"
    elif os.path.isfile(images):
        try:
            with open(images, "rb") as file:
                entries = parse_list(file.read().decode("utf-8", errors="replace"))
        except OSError as error:
            raise UsageError("cannot read '%s': %s" % (images, error.strerror), status=66)
        root = os.path.abspath(arguments.root if arguments.root is not None else os.getcwd())
        mode = "list"
    else:
        raise UsageError("'%s': no such file or folder" % images, status=66)

    seen = set()
    for identifier, _ in entries:
        if identifier in seen:
            raise UsageError("'%s' appears twice in the input; ids must be unique" % identifier, status=65)
        seen.add(identifier)
    classes = resolve_classes([name for _, name in entries if name is not None], fixed)
    known = set(classes)
    for identifier, name in entries:
        if name is not None and name not in known:
            raise UsageError("'%s' has class '%s', which is not in the class list (%s)"
                             % (identifier, name, ", ".join(classes)), status=65)
    if arguments.limit is not None:
        entries = entries[:arguments.limit]
        urls = urls[:arguments.limit] if urls is not None else None
    if not entries:
        raise UsageError("'%s' holds no images" % images, status=65)
    return Inputs([identifier for identifier, _ in entries], [name for _, name in entries], classes, mode, root, urls)


# MARK: Executor side (standard library and pyspark only)

def task_failure(message):
    """An exception whose message the driver can pick out of Spark's wrapping."""
    return RuntimeError("%s %s\n%s" % (TASK_ERROR, message, TASK_ERROR_END))


def find_graft(requested):
    """The graft binary on this machine: --graft, then an archive unpacked as `graft`, then PATH."""
    from pyspark import SparkFiles
    roots = []
    try:
        roots.append(SparkFiles.getRootDirectory())
    except Exception:
        pass
    roots.append(os.getcwd())
    if requested:
        candidates = [requested] if os.path.isabs(requested) else [requested] + [os.path.join(root, requested) for root in roots] \
            + [os.path.join(root, os.path.basename(requested)) for root in roots]
        for candidate in candidates:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return os.path.abspath(candidate)
        found = shutil.which(requested)
        if found:
            return found
        raise task_failure("--graft '%s' is not an executable here (%s)" % (requested, socket.gethostname()))
    for root in roots:
        for candidate in (os.path.join(root, "graft", "graft"), os.path.join(root, "graft", "bin", "graft")):
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which("graft")
    if found:
        return found
    raise task_failure("no graft binary on %s: pass --graft PATH, ship it with --archives graft.tgz#graft, or put graft "
                       "on PATH" % socket.gethostname())


def find_model(requested):
    """The model on this machine: the path itself, else the --files copy of the same name."""
    if os.path.isfile(requested):
        return os.path.abspath(requested)
    from pyspark import SparkFiles
    shipped = SparkFiles.get(os.path.basename(requested))
    if os.path.isfile(shipped):
        return shipped
    raise task_failure("model '%s' is neither a file on %s nor shipped with --files" % (requested, socket.gethostname()))


def die_with_parent():
    """Run in the child before exec: SIGKILL it when the Python worker dies (Linux prctl), so
    a killed task never leaves graft running."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def run_graft(command, environment, stdin_data=None, stdin_writer=None, scratch=None):
    """Runs graft; returns its stdout bytes, or raises with the tail of its stderr."""
    with tempfile.TemporaryFile(dir=scratch) as error_file, tempfile.TemporaryFile(dir=scratch) as output_file:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=output_file, stderr=error_file,
                                   env=environment, preexec_fn=die_with_parent)
        writer_error = None
        try:
            if stdin_writer is not None:
                stdin_writer(process.stdin)
            elif stdin_data is not None:
                process.stdin.write(stdin_data)
        except BrokenPipeError as error:
            writer_error = error   # graft stopped reading: its exit status and stderr say why
        except BaseException:
            process.kill()         # the input is wrong or the task is being killed: stop graft too
            process.wait()
            raise
        finally:
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass
        status = process.wait()
        error_file.seek(0)
        stderr = error_file.read().decode("utf-8", errors="replace")
        if status != 0 or writer_error is not None:
            tail = "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
            raise task_failure("%s exited with status %d on %s:\n%s"
                               % (" ".join(command[:2]), status, socket.gethostname(), tail or "(no output)"))
        output_file.seek(0)
        return output_file.read()


def list_text(ids, class_names):
    return "".join(identifier + ("" if name is None else " " + name) + "\n"
                   for identifier, name in zip(ids, class_names)).encode("utf-8")


def fsync_folder(folder):
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def copy_and_sync(source, destination):
    with open(source, "rb") as reader, open(destination, "xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())


def cache_info(graft, path, environment, scratch):
    return json.loads(run_graft([graft, "cache", "info", path, "--json"], environment, scratch=scratch))


def feature_digests(graft, path, layers, environment, scratch):
    """SHA-256 of each layer's `graft cache export --format npy` bytes."""
    digests = {}
    for layer in layers:
        data = run_graft([graft, "cache", "export", path, "--layer", layer, "--format", "npy"], environment, scratch=scratch)
        digests[layer] = hashlib.sha256(data).hexdigest()
    return digests


def comparable(info):
    """What must agree for an existing part to stand for this shard."""
    provenance = dict(info["provenance"])
    provenance.pop("created", None)
    return {"provenance": provenance, "layers": info["layers"], "classes": [entry["name"] for entry in info["classes"]]}


def make_task(settings, shards_ids, shards_class_names):
    """The function mapPartitionsWithIndex runs for every shard. Everything it needs travels in
    its closure; on the executor it uses only the standard library, pyspark and graft."""

    def run_shard(index, iterator):
        from pyspark import TaskContext
        started = time.time()
        context = TaskContext.get()
        attempt = context.attemptNumber() + 1 if context is not None else 1
        task_attempt_id = context.taskAttemptId() if context is not None else 0
        ids, class_names = shards_ids[index], shards_class_names[index]
        graft = find_graft(settings["graft"])
        model = find_model(settings["model"])
        threads = settings["threads"]
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
        out = settings["out"]
        extension = settings["format"]
        final = os.path.join(out, "%s%05d.%s" % (PART_PREFIX, index, extension))
        local_roots = [folder for folder in os.environ.get("SPARK_LOCAL_DIRS", "").split(",") if folder and os.path.isdir(folder)]
        scratch = tempfile.mkdtemp(prefix="graft-shard-%05d-" % index, dir=local_roots[0] if local_roots else None)
        try:
            classes_file = os.path.join(scratch, "classes.txt")
            with open(classes_file, "w", encoding="utf-8") as file:
                file.write("".join(name + "\n" for name in settings["classes"]))
            common = ["--classes-file", classes_file, "--threads", str(threads), "--batch", str(settings["batch"]),
                      "--quiet"] + settings["passthrough"]
            list_options = ["--root", settings["root"]] if settings["root"] else []
            listing = list_text(ids, class_names)

            if os.path.exists(final):
                # The provenance this shard would get, from graft itself: --limit 0 creates the
                # cache with the full list's provenance and decodes nothing.
                probe = os.path.join(scratch, "probe.h5")
                run_graft([graft, "features", model, "-", "-o", probe, "--limit", "0", "--root", scratch] + common,
                          environment, stdin_data=listing, scratch=scratch)
                expected = cache_info(graft, probe, environment, scratch)
                if extension == "parquet":
                    existing, digests = parquet_info(final)
                else:
                    existing, digests = cache_info(graft, final, environment, scratch), None
                if existing is not None and comparable(existing) == comparable(expected) \
                        and existing["rows"] + len(existing["failed"]) == len(ids):
                    if digests is None:
                        digests = feature_digests(graft, final, [layer["name"] for layer in existing["layers"]], environment, scratch)
                    yield result(index, attempt, started, existing, digests, skipped=True, graft=graft, extension=extension)
                    return

            part = os.path.join(scratch, "part.h5")
            command = [graft, "features", model]
            if settings["mode"] == "list":
                run_graft(command + ["-", "-o", part] + list_options + common, environment, stdin_data=listing, scratch=scratch)
            else:
                def write_tar(stream):
                    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                        for position, (identifier, data) in enumerate(tar_members(settings, ids, iterator)):
                            if identifier != ids[position]:
                                raise task_failure("shard %d: expected '%s' at row %d, got '%s'"
                                                   % (index, ids[position], position, identifier))
                            member = tarfile.TarInfo(identifier)
                            member.size, member.mode, member.mtime = len(data), 0o644, 0
                            archive.addfile(member, io.BytesIO(data))
                run_graft(command + ["--tar", "-", "-o", part] + common, environment, stdin_writer=write_tar, scratch=scratch)

            info = cache_info(graft, part, environment, scratch)
            if info["rows"] + len(info["failed"]) != len(ids):
                raise task_failure("shard %d: graft stored %d rows and %d failures for %d inputs"
                                   % (index, info["rows"], len(info["failed"]), len(ids)))
            digests = feature_digests(graft, part, [layer["name"] for layer in info["layers"]], environment, scratch)
            if extension == "parquet":
                part = write_parquet(graft, part, info, digests, ids, class_names, settings["classes"], environment, scratch)

            # Commit: a temporary name in OUTDIR unique to this attempt, then one rename.
            temporary = os.path.join(out, "%s%05d.%s.%s-%d-%s.tmp" % (TEMPORARY_PREFIX, index, extension, socket.gethostname(),
                                                                      task_attempt_id, uuid.uuid4().hex[:8]))
            copy_and_sync(part, temporary)
            if settings["fail_shard"] == index and attempt == 1:
                raise task_failure("GRAFT_SPARK_FAIL_SHARD=%d: failing attempt 1 of shard %d before its rename, as asked"
                                   % (index, index))
            os.replace(temporary, final)
            fsync_folder(out)
            yield result(index, attempt, started, info, digests, skipped=False, graft=graft, extension=extension)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    return run_shard


def tar_members(settings, ids, iterator):
    """(id, bytes) of a shard's rows in order: from the shared folder, or from binaryFiles."""
    if settings["mode"] == "files":
        for identifier in ids:
            with open(os.path.join(settings["root"], identifier), "rb") as file:
                yield identifier, file.read()
    else:
        for _, (identifier, data) in iterator:
            yield identifier, data


def write_parquet(graft, part, info, digests, ids, class_names, classes, environment, scratch):
    """The shard cache `part` as a Parquet file beside it (see the module's documentation); returns its path."""
    import numpy
    import pyarrow
    import pyarrow.parquet
    failed = {entry["id"] for entry in info["failed"]}
    # graft stores the decodable inputs in input order.
    kept = [(identifier, name) for identifier, name in zip(ids, class_names) if identifier not in failed]
    if len(kept) != info["rows"]:
        raise task_failure("the shard cache holds %d rows, the inputs less failures %d" % (info["rows"], len(kept)))
    position = {name: number for number, name in enumerate(classes)}
    columns = {
        "id": pyarrow.array([identifier for identifier, _ in kept], pyarrow.string()),
        "label": pyarrow.array([position[name] if name is not None else -1 for _, name in kept], pyarrow.int64()),
        "class": pyarrow.array([name for _, name in kept], pyarrow.string()),
    }
    for layer in info["layers"]:
        data = run_graft([graft, "cache", "export", part, "--layer", layer["name"], "--format", "npy"], environment, scratch=scratch)
        values = numpy.load(io.BytesIO(data))
        if values.shape != (info["rows"], layer["dimension"]):
            raise task_failure("layer %s exported as %s, expected %s" % (layer["name"], values.shape, (info["rows"], layer["dimension"])))
        columns[layer["name"]] = pyarrow.FixedSizeListArray.from_arrays(
            pyarrow.array(numpy.ascontiguousarray(values, numpy.float32).reshape(-1), pyarrow.float32()), layer["dimension"])
    provenance = info["provenance"]
    metadata = {
        "graft.model_sha256": provenance["model_sha256"],
        "graft.layers": json.dumps([layer["name"] for layer in info["layers"]]),
        "graft.preprocessing": json.dumps(provenance["preprocessing"], sort_keys=True),
        "graft.pool": provenance["pool"],
        "graft.cache_info": json.dumps(info, sort_keys=True),
        "graft.features_sha256": json.dumps(digests, sort_keys=True),
    }
    table = pyarrow.table(columns).replace_schema_metadata(metadata)
    path = part[:-len(".h5")] + ".parquet"
    pyarrow.parquet.write_table(table, path)
    return path


def parquet_info(path):
    """The `graft cache info` and feature digests a Parquet part records, or (None, None) when
    it cannot be read (a damaged part is redone)."""
    try:
        import pyarrow.parquet
        metadata = pyarrow.parquet.read_schema(path).metadata or {}
        info = json.loads(metadata[b"graft.cache_info"])
        digests = json.loads(metadata[b"graft.features_sha256"])
        if pyarrow.parquet.ParquetFile(path).metadata.num_rows != info["rows"]:
            return None, None
        return info, digests
    except Exception:
        return None, None


def result(index, attempt, started, info, digests, skipped, graft, extension="h5"):
    return {
        "shard": index, "file": "%s%05d.%s" % (PART_PREFIX, index, extension), "rows": info["rows"], "failed": len(info["failed"]),
        "attempt": attempt, "skipped": skipped, "seconds": round(time.time() - started, 3), "host": socket.gethostname(),
        "features_sha256": digests, "graft_version": info["provenance"]["graft_version"],
        "model_sha256": info["provenance"]["model_sha256"], "model_name": info["provenance"]["model_name"],
        "graft": graft,
    }


# MARK: Driver

def task_error(message):
    """The graft part of a failed job's message, or its last lines when there is none."""
    start = message.rfind(TASK_ERROR)
    if start >= 0:
        end = message.find(TASK_ERROR_END, start)
        return message[start + len(TASK_ERROR):end if end >= 0 else None].strip()
    return "\n".join(message.strip().splitlines()[-STDERR_TAIL_LINES:])


def write_atomically(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=folder)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(handle, 0o666 & ~mask)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        fsync_folder(folder)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def remove_temporary_files(out, shard_count):
    """Removes what failed attempts left in OUTDIR (our temporary names only), and parts of an
    earlier run with more shards, which are not part of this job."""
    removed = []
    for name in os.listdir(out):
        stem, _, extension = name.partition(".")
        stale_part = name.startswith(PART_PREFIX) and extension in ("h5", "parquet") and stem[len(PART_PREFIX):].isdigit() \
            and int(stem[len(PART_PREFIX):]) >= shard_count
        if (name.startswith(TEMPORARY_PREFIX) and name.endswith(".tmp")) or stale_part:
            os.unlink(os.path.join(out, name))
            removed.append(name)
    return removed


def main(argv):
    try:
        arguments, passthrough = parse_arguments(argv)
    except UsageError as error:
        print("graft_features.py: error: %s" % error, file=sys.stderr)
        return error.status

    # A plain SparkContext: the driver needs no SQL session, and starts faster without one.
    from pyspark import SparkConf, SparkContext
    spark_context = SparkContext.getOrCreate(SparkConf().setAppName("graft features"))
    if not spark_context.getConf().contains("spark.log.level"):
        spark_context.setLogLevel("WARN")
    started = time.time()
    try:
        inputs = read_inputs(arguments, spark_context)
    except UsageError as error:
        print("graft_features.py: error: %s" % error, file=sys.stderr)
        spark_context.stop()
        return error.status

    rows_per_shard = arguments.rows_per_shard
    total = len(inputs.ids)
    shard_count = (total + rows_per_shard - 1) // rows_per_shard
    bounds = [(shard * rows_per_shard, min(total, (shard + 1) * rows_per_shard)) for shard in range(shard_count)]
    shards_ids = [inputs.ids[start:end] for start, end in bounds]
    shards_class_names = [inputs.class_names[start:end] for start, end in bounds]
    threads = arguments.threads_per_task or int(spark_context.getConf().get("spark.task.cpus", "1"))
    fail_shard = os.environ.get("GRAFT_SPARK_FAIL_SHARD")
    # Paths that exist here are made absolute (local mode and shared file systems); other names
    # are looked up on the executors (--files, --archives, PATH).
    graft = arguments.graft
    if graft and os.path.sep in graft and os.path.isfile(graft):
        graft = os.path.abspath(graft)
    settings = {
        "graft": graft, "model": os.path.abspath(arguments.model) if os.path.isfile(arguments.model) else arguments.model,
        "out": os.path.abspath(arguments.out), "threads": threads, "batch": arguments.batch, "classes": inputs.classes, "passthrough": passthrough, "mode": inputs.mode,
        "format": arguments.format, "root": inputs.root, "fail_shard": int(fail_shard) if fail_shard not in (None, "") else None,
    }
    os.makedirs(settings["out"], exist_ok=True)
    for name in (SUCCESS, MANIFEST):
        if os.path.exists(os.path.join(settings["out"], name)):
            os.unlink(os.path.join(settings["out"], name))
    print("graft_features.py: %d images, %d classes, %d shards of up to %d rows, %d thread%s per task, input as %s"
          % (total, len(inputs.classes), shard_count, rows_per_shard, threads, "" if threads == 1 else "s",
             {"list": "lists", "files": "tar streams of the shared files", "url": "tar streams from binaryFiles"}[inputs.mode]),
          file=sys.stderr)

    task = make_task(settings, shards_ids, shards_class_names)
    if inputs.mode == "url":
        # binaryFiles partitions by file size; each row is then sent to its shard by its
        # position in the driver's order, and sorted there, so shards do not depend on the split.
        position = {url: row for row, url in enumerate(inputs.urls)}
        wanted = spark_context.broadcast(position)
        relative = {url: identifier for url, identifier in zip(inputs.urls, inputs.ids)}
        names = spark_context.broadcast(relative)
        images = arguments.images
        hadoop_configuration = spark_context._jsc.hadoopConfiguration()
        hadoop_configuration.set("mapreduce.input.fileinputformat.input.dir.recursive", "true")
        rdd = spark_context.binaryFiles(images, minPartitions=shard_count) \
            .filter(lambda pair: pair[0] in wanted.value) \
            .map(lambda pair: (wanted.value[pair[0]], (names.value[pair[0]], pair[1]))) \
            .repartitionAndSortWithinPartitions(shard_count, lambda row: row // rows_per_shard)
    else:
        # One element per partition: partition i is exactly shard i's list of rows.
        rdd = spark_context.parallelize(list(range(shard_count)), shard_count)
    try:
        results = rdd.mapPartitionsWithIndex(task).collect()
    except Exception as error:
        print("graft_features.py: error: the Spark job failed (no _SUCCESS written): %s" % task_error(str(error)),
              file=sys.stderr)
        spark_context.stop()
        return 70

    results.sort(key=lambda entry: entry["shard"])
    problems = []
    if [entry["shard"] for entry in results] != list(range(shard_count)):
        problems.append("expected one result per shard 0..%d, got %s" % (shard_count - 1, [entry["shard"] for entry in results]))
    handled = sum(entry["rows"] + entry["failed"] for entry in results)
    if handled != total:
        problems.append("the shards hold %d rows and failures for %d inputs" % (handled, total))
    for entry in results:
        if not os.path.isfile(os.path.join(settings["out"], entry["file"])):
            problems.append("%s is missing" % entry["file"])
    removed = remove_temporary_files(settings["out"], shard_count)
    if problems:
        print("graft_features.py: error: %s" % "; ".join(problems), file=sys.stderr)
        spark_context.stop()
        return 70

    manifest = {
        "images": arguments.images, "model": arguments.model, "rows": sum(entry["rows"] for entry in results),
        "failed": sum(entry["failed"] for entry in results), "inputs": total, "classes": inputs.classes,
        "rows_per_shard": rows_per_shard, "batch": arguments.batch, "threads_per_task": threads,
        "graft_options": passthrough, "input_mode": inputs.mode, "format": arguments.format,
        "graft_version": results[0]["graft_version"], "model_name": results[0]["model_name"],
        "model_sha256": results[0]["model_sha256"], "spark_version": spark_context.version,
        "master": spark_context.master, "application_id": spark_context.applicationId,
        "removed_temporary_files": removed, "shards": results,
    }
    if arguments.merge or arguments.virtual:
        target = os.path.abspath(arguments.merge or arguments.virtual)
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        parts = [os.path.join(settings["out"], entry["file"]) for entry in results]
        try:
            graft = find_graft(settings["graft"])
            run_graft([graft, "cache", "merge"] + parts + ["-o", target] + (["--virtual"] if arguments.virtual else []),
                      environment)
            info = cache_info(graft, target, environment, None)
            digests = feature_digests(graft, target, [layer["name"] for layer in info["layers"]], environment, None)
        except RuntimeError as error:
            print("graft_features.py: error: the parts are complete, but merging them failed: %s" % task_error(str(error)),
                  file=sys.stderr)
            spark_context.stop()
            return 70
        manifest["merged"] = {"path": target, "virtual": bool(arguments.virtual), "rows": info["rows"],
                              "features_sha256": digests}
        if info["rows"] != manifest["rows"]:
            print("graft_features.py: error: the merged cache has %d rows, the shards %d" % (info["rows"], manifest["rows"]),
                  file=sys.stderr)
            spark_context.stop()
            return 70
    manifest["seconds"] = round(time.time() - started, 3)
    write_atomically(os.path.join(settings["out"], MANIFEST), (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    write_atomically(os.path.join(settings["out"], SUCCESS), b"")
    attempts = sum(entry["attempt"] for entry in results)
    print("graft_features.py: %d rows, %d failed, %d shards (%d skipped, %d task attempts) in %.1f s -> %s"
          % (manifest["rows"], manifest["failed"], shard_count, sum(entry["skipped"] for entry in results), attempts,
             manifest["seconds"], settings["out"]), file=sys.stderr)
    spark_context.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
