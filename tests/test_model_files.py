"""Model files from the internet: loading never runs code, never unpickles, and every damaged,
forged or foreign file fails with a clear ModelFileError (never another exception, never a
silently different model, never a huge allocation).

Each hostile file is crafted from a real saved model, changing one thing.
"""
import io
import json
import os
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import numpy_nn as keras
from numpy_nn import backend
from numpy_nn.errors import ModelFileError
from numpy_nn.models import saving

MARKER_NAME = "pwned"


class Exploit:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def small_model():
    model = keras.models.Sequential([
        keras.layers.Dense(6, activation="elu", input_shape=(5,)),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.2, seed=3),
        keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam",
                  metrics=["accuracy"])
    x = np.random.default_rng(0).random((16, 5)).astype(np.float32)
    model.fit(x, np.arange(16) % 3, epochs=1, verbose=0)
    return model


@pytest.fixture
def saved(tmp_path):
    """A real model file, and the pieces to forge variants of it."""
    model = small_model()
    path = tmp_path / "model.keras"
    keras.models.save_checkpoint(model, path, epoch=1)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return model, path, members


def forge(path, members, manifest=None, compress=None):
    """Write ``members`` (``{name: bytes}`` or a list of pairs, duplicates allowed) as a ZIP."""
    items = list(members.items()) if isinstance(members, dict) else list(members)
    if manifest is not None:
        items = [(n, json.dumps(manifest).encode() if n == "model.json" else d)
                 for n, d in items]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in items:
            info = zipfile.ZipInfo("placeholder")
            info.filename = name          # keep tricks such as "../x" exactly as given
            info.compress_type = (compress or {}).get(name, zipfile.ZIP_STORED)
            archive.writestr(info, data)
    return path


def npy(array, **kwargs):
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def manifest_of(members):
    return json.loads(members["model.json"])


def load_fails(path, *fragments, loader=keras.models.load_model):
    with pytest.raises(ModelFileError) as info:
        loader(path)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in: {info.value}"
    return info.value


# --------------------------------------------------------------------------- round trip
def test_round_trip_is_exact_and_arrays_are_stored_uncompressed(saved):
    model, path, _ = saved
    loaded = keras.models.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    saved_state = model.optimizer.get_state(model.trainable_weights)
    loaded_state = loaded.optimizer.get_state(loaded.trainable_weights)
    assert saved_state.keys() == loaded_state.keys()
    for key, value in saved_state.items():           # values, shapes (0-d too) and dtypes
        assert type(loaded_state[key]) is type(value), key
        np.testing.assert_array_equal(loaded_state[key], value)
        assert np.shape(loaded_state[key]) == np.shape(value), key
        assert np.asarray(loaded_state[key]).dtype == np.asarray(value).dtype, key
    assert type(loaded.optimizer.momentum_product) is type(model.optimizer.momentum_product)
    with zipfile.ZipFile(path) as archive:
        kinds = {i.filename: i.compress_type for i in archive.infolist()}
    assert kinds.pop("model.json") == zipfile.ZIP_DEFLATED
    assert set(kinds.values()) == {zipfile.ZIP_STORED}


# --------------------------------------------------------------------------- pickles
def test_object_array_needing_pickle_is_refused_without_running_it(saved, tmp_path):
    _, _, members = saved
    marker = tmp_path / MARKER_NAME
    members["weights/00000.npy"] = npy(np.array([Exploit(str(marker))] * 30, dtype=object)
                                       .reshape(5, 6), allow_pickle=True)
    path = forge(tmp_path / "evil.keras", members)
    load_fails(path, "weights/00000.npy", "dtype object", "never objects")
    assert not marker.exists()


def test_real_pickle_renamed_is_refused_without_running_it(tmp_path):
    marker = tmp_path / MARKER_NAME
    path = tmp_path / "model.keras"
    path.write_bytes(pickle.dumps(Exploit(str(marker))))
    load_fails(path, "looks like a Python pickle")
    assert not marker.exists()


def test_pickle_inside_a_zip_member_is_refused(saved, tmp_path):
    _, _, members = saved
    marker = tmp_path / MARKER_NAME
    members["optimizer/00000.npy"] = pickle.dumps(Exploit(str(marker)))
    load_fails(forge(tmp_path / "evil.keras", members), "optimizer/00000.npy",
               "not a valid .npy")
    assert not marker.exists()


# --------------------------------------------------------------------------- arrays
@pytest.mark.parametrize("array, fragment", [
    (np.zeros((5, 6), np.int32), "dtype int32"),
    (np.zeros((5, 6), np.complex64), "dtype complex64"),
    (np.zeros((5, 6), bool), "dtype bool"),
    (np.zeros((5, 6), np.longdouble), "float128"),
    (np.zeros((5, 6), dtype=[("a", np.float32)]), "dtype [('a', '<f4')]"),
    (np.zeros((6, 5), np.float32), "shape (6, 5), the manifest says [5, 6]"),
    (np.zeros((30,), np.float32), "shape (30,)"),
], ids=["int32", "complex", "bool", "longdouble", "structured", "transposed", "flat"])
def test_wrong_dtype_or_shape_of_a_weight_is_refused(saved, tmp_path, array, fragment):
    _, _, members = saved
    members["weights/00000.npy"] = npy(array)
    load_fails(forge(tmp_path / "bad.keras", members), "weights/00000.npy", fragment)


def test_npy_header_declaring_a_huge_array_is_refused_before_allocating(saved, tmp_path):
    """A header promising 10**12 floats over 120 bytes of data must not allocate 4 TB (nor,
    for a smaller lie, gigabytes that get filled in)."""
    _, _, members = saved
    honest = npy(np.zeros((5, 6), np.float32))
    header_end = honest.index(b"\n") + 1
    header = honest[10:header_end].decode("latin1").replace("(5, 6)", "(1000000, 1000000)")
    header = header.rstrip("\n").ljust(header_end - 11) + "\n"
    members["weights/00000.npy"] = honest[:8] + struct.pack("<H", len(header)) + \
        header.encode("latin1") + honest[header_end:]
    tracemalloc.start()
    try:
        load_fails(forge(tmp_path / "huge.keras", members), "declares shape (1000000, 1000000)",
                   "holds 120 bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20


def test_manifest_dtype_must_match_the_array(saved, tmp_path):
    _, _, members = saved
    manifest = manifest_of(members)
    manifest["weights"][0]["dtype"] = "float64"
    load_fails(forge(tmp_path / "bad.keras", members, manifest), "the manifest says 'float64'")


def test_big_endian_and_fortran_order_floats_are_read_correctly(saved, tmp_path):
    model, _, members = saved
    kernel = model.get_weights()[0]
    members["weights/00000.npy"] = npy(np.asfortranarray(kernel.astype(">f4")))
    loaded = keras.models.load_model(forge(tmp_path / "ok.keras", members))
    np.testing.assert_array_equal(loaded.get_weights()[0], kernel)


def test_float64_weights_too_large_for_float32_are_refused(saved, tmp_path):
    _, _, members = saved
    manifest = manifest_of(members)
    manifest["weights"][0]["dtype"] = "float64"
    members["weights/00000.npy"] = npy(np.full((5, 6), 1e300))
    load_fails(forge(tmp_path / "big.keras", members, manifest), "too large for float32")


# --------------------------------------------------------------------------- archive layout
@pytest.mark.parametrize("name", [
    "../evil.npy", "/etc/passwd", "weights/../../evil.npy", "weights\\00000.npy",
    "./model.json", "weights/00000.npy/../../x", "C:/Windows/evil.npy", "weights/0.npy",
    "weights/00000.npy.exe", "optimizer/00000.pkl", "model.json ", "WEIGHTS/00000.npy",
    "weights/０００００.npy",
], ids=lambda n: repr(n))
def test_path_tricks_in_member_names_are_refused(saved, tmp_path, name):
    _, _, members = saved
    members[name] = npy(np.zeros(3, np.float32))
    path = forge(tmp_path / "tricky.keras", members)
    load_fails(path, "unexpected archive member", repr(name))
    assert not (tmp_path / "evil.npy").exists() and not (tmp_path.parent / "evil.npy").exists()


def test_duplicate_members_are_refused(saved, tmp_path):
    _, _, members = saved
    items = list(members.items()) + [("weights/00000.npy", npy(np.ones((5, 6), np.float32)))]
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = forge(tmp_path / "dup.keras", items)
    load_fails(path, "'weights/00000.npy' appears twice")


def test_member_missing_from_the_manifest_or_the_archive_is_refused(saved, tmp_path):
    _, _, members = saved
    extra = dict(members, **{"weights/00099.npy": npy(np.zeros(2, np.float32))})
    load_fails(forge(tmp_path / "extra.keras", extra), "'weights/00099.npy' is not in the manifest")
    missing = {k: v for k, v in members.items() if k != "weights/00001.npy"}
    load_fails(forge(tmp_path / "missing.keras", missing), "missing weights/00001.npy")


def test_compressed_array_members_are_refused(saved, tmp_path):
    """Arrays are stored uncompressed, so a deflated one (a would-be zip bomb) is refused."""
    _, _, members = saved
    path = forge(tmp_path / "deflated.keras", members,
                 compress={"weights/00000.npy": zipfile.ZIP_DEFLATED})
    load_fails(path, "uses compression method 8")


def test_declared_total_over_the_limit_is_refused_before_decompressing(saved):
    _, path, _ = saved
    error = load_fails(path, "would decompress to", "pass max_bytes=",
                       loader=lambda p: keras.models.load_model(p, max_bytes=1000))
    assert "over the limit of 1,000" in str(error)


def test_manifest_bomb_is_refused_without_inflating_it(saved, tmp_path):
    """100 MB of JSON whitespace deflates to ~100 KB; the declared size alone refuses it."""
    _, _, members = saved
    members["model.json"] = members["model.json"] + b" " * (100 * 2 ** 20)
    path = forge(tmp_path / "bomb.keras", members, compress={"model.json": zipfile.ZIP_DEFLATED})
    assert os.path.getsize(path) < 2 ** 20
    tracemalloc.start()
    try:
        load_fails(path, "'model.json' is larger than allowed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20


def raw_zip(entries, local_records):
    """A hand-built stored ZIP: ``local_records`` are ``(name, data)`` written once;
    ``entries`` are central-directory ``(name, data, index of the local record)``, so several
    entries may point at the same bytes (overlapping members, the "better zip bomb")."""
    import zlib
    body, offsets = b"", []
    for name, data in local_records:
        offsets.append(len(body))
        crc = zlib.crc32(data)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(data),
                            len(data), len(name), 0) + name.encode() + data
    central = b""
    for name, data, record in entries:
        crc = zlib.crc32(data)
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc,
                               len(data), len(data), len(name), 0, 0, 0, 0, 0,
                               offsets[record]) + name.encode()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(central), len(body), 0)
    return body + central + end


def test_overlapping_members_are_refused(saved, tmp_path):
    _, _, members = saved
    block = npy(np.zeros(20_000, np.float32))
    entries = [("model.json", members["model.json"], 0)] + \
        [(f"weights/{i:05d}.npy", block, 1) for i in range(20)]
    path = tmp_path / "overlap.keras"
    path.write_bytes(raw_zip(entries, [("model.json", members["model.json"]),
                                       ("weights/00000.npy", block)]))
    load_fails(path, "overlapping members")


def test_member_lying_about_its_size_is_refused(saved, tmp_path):
    _, _, members = saved
    data = members["model.json"]
    entries = [("model.json", data[: len(data) // 2], 0)]   # the directory claims half
    path = tmp_path / "liar.keras"
    path.write_bytes(raw_zip(entries, [("model.json", data)]))
    load_fails(path)


def test_encrypted_member_is_refused(saved, tmp_path):
    _, path, _ = saved
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    raw[central + 8] |= 0x1                    # general-purpose flag: encrypted
    evil = tmp_path / "encrypted.keras"
    evil.write_bytes(bytes(raw))
    load_fails(evil, "is encrypted")


# --------------------------------------------------------------------------- the manifest
@pytest.mark.parametrize("content, fragment", [
    (b"[1, 2, 3]", "format tag"),
    (b'"a string"', "format tag"),
    (b"42", "format tag"),
    (b"null", "format tag"),
    (b"{}", "format tag"),
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00binary", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
], ids=["list", "string", "number", "null", "empty-object", "broken", "binary", "deep"])
def test_manifest_that_is_not_ours_is_refused(saved, tmp_path, content, fragment):
    _, _, members = saved
    members["model.json"] = content
    load_fails(forge(tmp_path / "bad.keras", members), fragment)


def edit(manifest, change):
    change(manifest)
    return manifest


def set_layer(index, **fields):
    def change(manifest):
        manifest["model_config"]["layers"][index]["config"].update(fields)
    return change


HOSTILE_MANIFESTS = [
    ("format version 99", lambda m: m.update(format_version=99), "format version 99"),
    ("class_name os.system",
     lambda m: m["model_config"]["layers"][0].update(class_name="os.system"),
     "unknown layer class 'os.system'"),
    ("class_name __import__",
     lambda m: m["model_config"]["layers"][0].update(class_name="__import__"),
     "unknown layer class '__import__'"),
    ("class_name with module path",
     lambda m: m["model_config"]["layers"][0].update(class_name="numpy_nn.layers.Dense"),
     "unknown layer class"),
    ("class_name Lambda", lambda m: m["model_config"]["layers"][0].update(class_name="Lambda"),
     "known: Activation"),
    ("layer entry not an object", lambda m: m["model_config"]["layers"].append("Dense"),
     "bad layer entry"),
    ("layers not a list", lambda m: m["model_config"].update(layers={"a": 1}),
     "invalid architecture"),
    ("model_config a list", lambda m: m.update(model_config=[1]), "invalid architecture"),
    ("unknown layer argument", set_layer(0, eval="os.system('x')"), "unknown argument"),
    ("units 10**10", set_layer(0, units=10 ** 10), "more than the"),
    ("units 10**40", set_layer(0, units=10 ** 40), "invalid architecture"),
    ("units negative", set_layer(0, units=-5), "units must be a positive int"),
    ("units a string", set_layer(0, units="6"), "units must be a positive int"),
    ("input_shape huge", lambda m: m["model_config"].update(input_shape=[10 ** 12]),
     "more than the"),
    ("input_shape infinite", lambda m: m["model_config"].update(input_shape=[1e400]),
     "invalid architecture"),
    ("activation os.system", set_layer(0, activation="os.system"), "os.system"),
    ("dropout rate NaN", set_layer(2, rate=float("nan")), "rate must be a number in [0, 1)"),
    ("weight list not a list", lambda m: m.update(weights={"a": 1}), "no valid weight list"),
    ("weight shape negative", lambda m: m["weights"][0].update(shape=[-5, 6]),
     "no valid weight list"),
    ("weight shape huge", lambda m: m["weights"][0].update(shape=[10 ** 9, 10 ** 9]),
     "the manifest says [1000000000, 1000000000]"),
    ("optimizer unknown", lambda m: m["compile_config"]["optimizer"].update(
        class_name="EvilOptimizer"), "Unknown optimizer 'EvilOptimizer'"),
    ("optimizer bad argument", lambda m: m["compile_config"]["optimizer"]["config"].update(
        __class__="x"), "invalid compile settings"),
    ("loss unknown", lambda m: m["compile_config"]["loss"].update(class_name="os.system"),
     "Unknown loss 'os.system'"),
    ("compile_config a list", lambda m: m.update(compile_config=[1, 2]), "must be an object"),
    ("iterations negative", lambda m: m["optimizer_state"]["scalars"].update(iterations=-1),
     "invalid optimizer_state"),
    ("iterations a string", lambda m: m["optimizer_state"]["scalars"].update(iterations="9"),
     "invalid optimizer_state"),
    ("learning rate NaN", lambda m: m["optimizer_state"]["scalars"].update(
        learning_rate=float("nan")), "invalid optimizer_state"),
    ("learning rate negative", lambda m: m["optimizer_state"]["scalars"].update(
        learning_rate=-1.0), "learning_rate must be >= 0"),
    ("slot names shuffled", lambda m: m["optimizer_state"].update(
        arrays=list(reversed(m["optimizer_state"]["arrays"]))), "optimizer state does not fit"),
    ("slots missing", lambda m: m["optimizer_state"].update(arrays=[]), "is not in the manifest"),
    ("metadata a list", lambda m: m.update(metadata=[1]), "metadata"),
]


@pytest.mark.parametrize("case", HOSTILE_MANIFESTS, ids=[c[0] for c in HOSTILE_MANIFESTS])
def test_forged_manifest_is_refused(saved, tmp_path, case):
    _, _, members = saved
    _, change, fragment = case
    manifest = edit(manifest_of(members), change)
    tracemalloc.start()
    try:
        load_fails(forge(tmp_path / "forged.keras", members, manifest), fragment)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2 ** 20, "a forged file made the loader allocate a lot"


def test_forged_weight_count_mismatch_is_refused(saved, tmp_path):
    _, _, members = saved
    manifest = manifest_of(members)
    manifest["model_config"]["layers"][0]["config"]["use_bias"] = False
    load_fails(forge(tmp_path / "forged.keras", members, manifest), "holds 8 weight arrays",
               "needs 7")


# --------------------------------------------------------------------------- foreign files
def test_foreign_files_are_refused(tmp_path):
    cases = {
        "empty.keras": (b"", "it is empty"),
        "random.keras": (np.random.default_rng(1).bytes(4096), "it is not a ZIP archive"),
        "text.keras": (b"model = evil()\n" * 10, "it is not a ZIP archive"),
        "npz.keras": (None, "unexpected archive member 'a.npy'"),
    }
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    cases["npz.keras"] = ((tmp_path / "plain.npz").read_bytes(), cases["npz.keras"][1])
    for name, (content, fragment) in cases.items():
        (tmp_path / name).write_bytes(content)
        load_fails(tmp_path / name, fragment)


def test_keras_h5_file_is_named_as_such(tmp_path):
    h5py = pytest.importorskip("h5py", reason="h5py makes a real HDF5 file")
    path = tmp_path / "my_keras_model.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = "2.15.0"
        handle.create_dataset("model_weights/dense/kernel", data=np.zeros((3, 2)))
    load_fails(path, "HDF5 file, such as a Keras .h5 model")


def test_keras_dot_keras_archive_is_named_as_such(tmp_path):
    path = forge(tmp_path / "model.keras", {
        "metadata.json": b'{"keras_version": "3.3.3"}',
        "config.json": b'{"class_name": "Sequential"}',
        "model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(100)})
    load_fails(path, "is a Keras .keras archive")


def test_missing_file_directory_and_device_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        keras.models.load_model(tmp_path / "nothing.keras")
    load_fails(tmp_path, "is not a regular file")
    link = tmp_path / "zero.keras"
    link.symlink_to("/dev/zero")
    load_fails(link, "is not a regular file")


# --------------------------------------------------------------------------- damage
def test_every_truncation_is_refused(saved, tmp_path):
    _, path, _ = saved
    data = path.read_bytes()
    cuts = sorted(set(np.linspace(0, len(data) - 1, 60).astype(int).tolist()
                      + [len(data) - 1, len(data) - 22, len(data) - 23, 30]))
    for cut in cuts:
        damaged = tmp_path / "cut.keras"
        damaged.write_bytes(data[:cut])
        load_fails(damaged)


def test_flipped_bytes_are_refused_or_harmless(saved, tmp_path):
    """A flipped byte either makes the load fail cleanly or hits a field that does not matter
    (a timestamp, a version field); it never yields a different model."""
    model, path, _ = saved
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"refused": 0, "harmless": 0}
    for position in rng.choice(len(data), size=150, replace=False):
        damaged = bytearray(data)
        damaged[position] ^= 1 << int(rng.integers(8))
        target = tmp_path / "flipped.keras"
        target.write_bytes(bytes(damaged))
        try:
            loaded = keras.models.load_model(target)
        except ModelFileError:
            outcomes["refused"] += 1
            continue
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)
        outcomes["harmless"] += 1
    assert outcomes["refused"] > 100, outcomes


# --------------------------------------------------------------------------- training state
@pytest.mark.parametrize("change, fragment", [
    (lambda s: s.update(epoch=-1), "epoch must be an int >= 0"),
    (lambda s: s.update(epoch="3"), "epoch must be an int >= 0"),
    (lambda s: s["rng"].update(bit_generator="MT19937"), "expected PCG64"),
    (lambda s: s["rng"]["state"].update(state="0x1"), "invalid training state"),
    (lambda s: s.update(layer_rngs={}), "random layers at positions"),
    (lambda s: s.pop("rng"), "invalid training state"),
], ids=["negative-epoch", "string-epoch", "other-generator", "bad-state", "missing-layer-rng",
        "no-rng"])
def test_forged_training_state_is_refused_and_changes_nothing(saved, tmp_path, change,
                                                               fragment):
    model, _, members = saved
    manifest = manifest_of(members)
    change(manifest["metadata"]["training_state"])
    path = forge(tmp_path / "forged.keras", members, manifest)
    before = backend.get_rng_state()
    weights = model.get_weights()
    with pytest.raises(ModelFileError, match="invalid training state|" + fragment) as info:
        saving.restore_checkpoint(model, path)
    assert fragment in str(info.value)
    assert backend.get_rng_state() == before
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_plain_model_file_is_not_a_checkpoint(tmp_path):
    model = small_model()
    model.save(tmp_path / "plain.keras")
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        saving.restore_checkpoint(model, tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="was not loaded from a checkpoint"):
        keras.models.restore_training_state(keras.models.load_model(tmp_path / "plain.keras"))
