"""Crash-safe files: a process killed at any moment leaves the old complete file or the new
complete file, never a half-written one.

* :func:`numpy_nn.io_utils.atomic_write` itself: an exception inside the block changes
  nothing and leaves no temporary file;
* the kill test: a child process saves a ~8 MB checkpoint over and over, and is killed with
  SIGKILL at random moments; after every kill the file on disk must load and be exactly one of
  the versions the child wrote (the last one it finished, or the one it was finishing);
* killing a child in the middle of ``fit`` with ``BackupAndRestore``, then resuming, ends with
  the same weights as a run that was never interrupted;
* an audit of numpy_nn's source: every call that writes a file is inside an
  ``atomic_write`` block, or on a short allow-list that says why it is safe.
"""
import ast
import os
import signal
import stat
import time
import traceback

import numpy as np
import pytest

import numpy_nn as keras
from numpy_nn import backend
from numpy_nn.io_utils import atomic_write

PACKAGE_DIR = os.path.dirname(os.path.abspath(keras.__file__))
#: Kills per run; ``make test`` uses 30 (about 5 s). Set NUMPY_NN_KILLS=300 for a long run.
KILLS = int(os.environ.get("NUMPY_NN_KILLS", "30"))


# --------------------------------------------------------------------------- atomic_write
def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write(b"half of the new cont")
            raise RuntimeError("crash")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]
    with atomic_write(path) as handle:
        handle.write(b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_atomic_write_creates_folders_and_respects_the_umask(tmp_path):
    old_mask = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "a" / "b" / "file.txt", "w") as handle:
            handle.write("text")
    finally:
        os.umask(old_mask)
    mode = stat.S_IMODE(os.stat(tmp_path / "a" / "b" / "file.txt").st_mode)
    assert mode == 0o640
    assert (tmp_path / "a" / "b" / "file.txt").read_text() == "text"


# --------------------------------------------------------------------------- the kill test
def biggish_model():
    """~700k parameters: with Nadam's two slots, an 8 MB checkpoint."""
    model = keras.models.Sequential([
        keras.layers.Dense(512, input_shape=(784,)),
        keras.layers.Dense(512),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam")
    model.optimizer.build(model.trainable_weights)
    return model


def fill(model, version):
    """Every weight and slot = ``version``, except one marker entry per array (its index)."""
    arrays = [v.value for v in model.weights]
    arrays += [a for slots in model.optimizer.slots.values() for a in slots.values()]
    for index, array in enumerate(arrays):
        array[...] = version
        array.flat[0] = index


def check_version(model, version):
    """The loaded model holds exactly what :func:`fill` wrote for ``version``."""
    arrays = [v.value for v in model.weights]
    arrays += [a for slots in model.optimizer.slots.values() for a in slots.values()]
    for index, array in enumerate(arrays):
        assert array.flat[0] == index
        assert np.all(array.flat[1:] == version), f"array {index} mixes versions"


def save_forever(path, first_version, report_fd):
    """The child: save versions first_version, first_version + 1, ... until killed, writing
    each finished version number to ``report_fd``."""
    model = biggish_model()
    version = first_version
    while True:
        fill(model, version)
        keras.models.save_checkpoint(model, path, epoch=version)
        os.write(report_fd, f"{version}\n".encode())
        version += 1


def spawn(target, *args):
    """Fork a child running ``target(*args, report_fd)``; returns ``(pid, read_fd)``."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child never returns to pytest
        try:
            os.close(read_fd)
            target(*args, write_fd)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        finally:
            os._exit(0)
    os.close(write_fd)
    return pid, read_fd


def read_reports(read_fd, wait_for_first=True):
    """Version numbers the child reported (blocks until the first one when asked)."""
    data = b""
    while wait_for_first and not data:
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            raise AssertionError("the child process died before finishing its first save")
        data += chunk
    os.set_blocking(read_fd, False)
    try:
        while chunk := os.read(read_fd, 1 << 16):
            data += chunk
    except BlockingIOError:
        pass
    os.set_blocking(read_fd, True)
    return [int(v) for v in data.split()]


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def test_killing_a_saving_process_never_leaves_a_broken_file(tmp_path):
    path = tmp_path / "checkpoint.keras"
    rng = np.random.default_rng(0)
    # How long one save takes here, to spread the kills over whole save cycles.
    model = biggish_model()
    start = time.perf_counter()
    keras.models.save_checkpoint(model, tmp_path / "timing.keras", epoch=0)
    save_seconds = time.perf_counter() - start
    os.remove(tmp_path / "timing.keras")

    mid_write_kills = 0
    for round_index in range(KILLS):
        first = 1000 * (round_index + 1)
        pid, read_fd = spawn(save_forever, str(path), first)
        finished = read_reports(read_fd)              # at least one complete save
        time.sleep(rng.uniform(0, 3 * save_seconds))
        kill(pid)
        finished += read_reports(read_fd, wait_for_first=False)
        os.close(read_fd)
        leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        mid_write_kills += bool(leftovers)
        for name in leftovers:
            os.remove(tmp_path / name)
        loaded = keras.models.load_model(path)
        version = keras.models.restore_training_state(loaded)
        assert version in (finished[-1], finished[-1] + 1), (version, finished[-3:])
        check_version(loaded, version)
    print(f"\n{KILLS} kills, {mid_write_kills} in the middle of writing a checkpoint; every "
          f"file loaded complete (one save: {save_seconds * 1e3:.0f} ms)")
    assert mid_write_kills >= KILLS // 5, "the kills did not hit the writes often enough"


def test_killing_fit_then_resuming_with_backup_and_restore_is_bit_identical(tmp_path):
    """A real crash: SIGKILL during ``fit`` (at a random moment after the first backup), then
    a new model (other seed) resumes from the backup and ends bit-identical to an
    uninterrupted run."""
    x = np.random.default_rng(1).random((300, 12)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 4, 300)
    epochs = 12

    def build(seed):
        backend.set_random_seed(seed)
        model = keras.models.Sequential([
            keras.layers.Dense(32, activation="elu", kernel_initializer="he_normal",
                               input_shape=(12,)),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(4, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return model

    reference = build(7)
    reference.fit(x, y, epochs=epochs, batch_size=16, verbose=0)

    class Report(keras.callbacks.Callback):
        def __init__(self, fd):
            super().__init__()
            self.fd = fd

        def on_epoch_end(self, epoch, logs=None):   # runs after the backup is written
            os.write(self.fd, f"{epoch}\n".encode())
            time.sleep(0.005)

    def train(backup_dir, report_fd):
        build(7).fit(x, y, epochs=epochs, batch_size=16, verbose=0,
                     callbacks=[keras.callbacks.BackupAndRestore(backup_dir), Report(report_fd)])
        time.sleep(60)                                 # never finish before the kill

    rng = np.random.default_rng(3)
    for attempt in range(3):
        backup_dir = tmp_path / f"backup{attempt}"
        pid, read_fd = spawn(train, str(backup_dir))
        read_reports(read_fd)
        time.sleep(rng.uniform(0, 0.05))
        kill(pid)
        finished = read_reports(read_fd, wait_for_first=False)
        os.close(read_fd)
        backup = keras.callbacks.BackupAndRestore(backup_dir)
        resumed = build(12345)
        resumed.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[backup])
        assert 1 <= backup.restored_epoch < epochs, (backup.restored_epoch, finished)
        for a, b in zip(reference.get_weights(), resumed.get_weights()):
            np.testing.assert_array_equal(a, b)
        assert not backup_dir.exists()                  # deleted after a finished fit


# --------------------------------------------------------------------------- the audit
#: Calls that write files, by their dotted name (``open`` is checked for its mode).
WRITERS = {"np.save", "np.savez", "np.savez_compressed", "np.savetxt", "numpy.save",
           "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move", "os.rename",
           "os.replace", "pickle.dump", "SummaryWriter", "h5py.File", "tempfile.mkstemp",
           "tempfile.NamedTemporaryFile"}
WRITER_METHODS = {"tofile", "write_text", "write_bytes", "savefig", "savetxt"}
#: (file relative to numpy_nn/, call) -> why it is safe without atomic_write.
ALLOWED = {
    ("io_utils.py", "tempfile.mkstemp"): "atomic_write's own temporary file",
    ("io_utils.py", "os.replace"): "atomic_write's own rename",
    ("io_utils.py", "os.fdopen"): "atomic_write's own temporary file",
    ("callbacks/backup.py", "os.replace"):
        "moves the complete latest backup aside (double_checkpoint); a rename is atomic",
    ("callbacks/loggers.py", "SummaryWriter"):
        "tensorboardX appends length-prefixed, CRC-checked event records; TensorBoard skips "
        "a torn final record, so a crash loses at most the last scalar",
}


def dotted_name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return None


def open_mode(call, position):
    """The mode argument of an open-like call if it is a constant, ``"?"`` if computed."""
    mode = call.args[position] if len(call.args) > position else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        return "r"
    return mode.value if isinstance(mode, ast.Constant) else "?"


class WriteFinder(ast.NodeVisitor):
    """Collects ``(line, call)`` for file writes outside ``with atomic_write(...)`` blocks."""

    def __init__(self):
        self.inside_atomic = 0
        self.found = []

    def visit_With(self, node):
        atomic = any(isinstance(item.context_expr, ast.Call)
                     and (dotted_name(item.context_expr.func) or "").endswith("atomic_write")
                     for item in node.items)
        for item in node.items:
            self.visit(item)
        self.inside_atomic += atomic
        for statement in node.body:
            self.visit(statement)
        self.inside_atomic -= atomic

    def visit_Call(self, node):
        name = dotted_name(node.func) or ""
        short = name.rsplit(".", 1)[-1]
        writes = (name in WRITERS or short in WRITERS or short in WRITER_METHODS
                  or (name in ("open", "io.open", "os.fdopen", "gzip.open", "bz2.open")
                      and set(open_mode(node, 1)) & set("wax+?"))
                  or (name in ("zipfile.ZipFile", "tarfile.open")
                      and set(open_mode(node, 1)) & set("wax?")))
        if writes and not self.inside_atomic:
            self.found.append((node.lineno, name))
        self.generic_visit(node)


def test_every_file_write_in_numpy_nn_is_atomic():
    offenders = []
    for folder, _, files in os.walk(PACKAGE_DIR):
        for filename in files:
            if not filename.endswith(".py"):
                continue
            path = os.path.join(folder, filename)
            relative = os.path.relpath(path, PACKAGE_DIR).replace(os.sep, "/")
            with open(path, encoding="utf-8") as handle:
                finder = WriteFinder()
                finder.visit(ast.parse(handle.read(), path))
            offenders += [f"numpy_nn/{relative}:{line}: {call}" for line, call in finder.found
                          if (relative, call) not in ALLOWED]
    assert not offenders, ("file writes outside numpy_nn.io_utils.atomic_write (a crash could "
                           "leave them half-written):\n  " + "\n  ".join(offenders))


def test_the_audit_can_fail():
    """The finder sees the writes it is meant to see (and accepts atomic ones)."""
    source = '''
open(path, "w")
open(path, "a" if append else "w")
np.save(path, array)
array.tofile(path)
figure.savefig(path)
open(path)
with atomic_write(path) as handle:
    zipfile.ZipFile(handle, "w")
'''
    finder = WriteFinder()
    finder.visit(ast.parse(source))
    assert [call for _, call in finder.found] == ["open", "open", "np.save", "array.tofile",
                                                 "figure.savefig"]
