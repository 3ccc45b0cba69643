"""Hostile project files: the loader raises only ProjectError, naming the field, quickly.

Files that still load after mutation must validate without raising and round-trip through
save -> load. The long version of this fuzzing is bench/robustness.py.
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.project import MAX_FILE_BYTES, ProjectError, load_project, loads_project

from . import fuzz

EXAMPLES = fuzz.examples()
N = int(os.environ.get("ROBUSTNESS_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
SECONDS = 30.0  # CPU seconds per file (not wall clock: the machine may be loaded); real
                # loads take milliseconds, a quadratic or unbounded one takes far longer


def assert_handled(raw: bytes) -> fuzz.Outcome:
    with tempfile.TemporaryDirectory() as folder:
        outcome = fuzz.check_file(raw, Path(folder))
    assert outcome.kind != "crash", outcome.message
    assert outcome.seconds < SECONDS
    return outcome


def refusal(data) -> ProjectError:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ProjectError) as info:
        loads_project(text, "bad.nnproj")
    assert str(info.value).startswith("bad.nnproj: ")
    assert fuzz.UNHELPFUL not in str(info.value)
    return info.value


def example(name: str = "digits_cnn") -> dict:
    return json.loads(EXAMPLES[name])


def test_the_bundled_examples_are_there():
    assert len(EXAMPLES) >= 3


# -- random and mutated files -----------------------------------------------------------------

@FUZZ
@given(rnd=st.randoms(use_true_random=False))
def test_mutated_examples_load_or_are_refused_clearly(rnd):
    _label, raw = fuzz.hostile_file(rnd)
    assert_handled(raw)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("mutation", fuzz.MUTATIONS, ids=lambda m: m.__name__)
def test_every_mutation_of_every_example(name, mutation):
    for seed in range(3):
        rnd = random.Random(seed)
        data = json.loads(EXAMPLES[name])
        mutation(data, rnd)
        assert_handled(fuzz._dumps(data).encode())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("mutation", fuzz.TEXT_MUTATIONS, ids=lambda m: m.__name__)
def test_every_byte_level_mutation_of_every_example(name, mutation):
    for seed in range(3):
        assert_handled(mutation(EXAMPLES[name], random.Random(seed)))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["format_version", "graph", "nodes", "edges", "id", "type", "name",
                         "params", "pos", "src", "dst", "src_port", "dst_port", "meta"]),
        inner, max_size=5),
    max_leaves=30)


@FUZZ
@given(data=JSON)
def test_random_json_is_refused_or_loads(data):
    try:
        project = loads_project(json.dumps(data), "r.nnproj")
    except ProjectError as exc:
        assert fuzz.UNHELPFUL not in str(exc)
        return
    engine.validate(project.graph)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_truncation_at_every_offset(name):
    raw = EXAMPLES[name]
    with tempfile.TemporaryDirectory() as folder:
        for cut in range(0, len(raw), max(1, len(raw) // 40)):
            outcome = fuzz.check_file(raw[:cut], Path(folder))
            complete = raw[:cut].strip() == raw.strip()  # only the final newline was cut
            assert outcome.kind == ("loaded" if complete else "refused"), \
                (cut, outcome.message)


# -- specific hostile content, with the field the message must name -----------------------------

def test_huge_integers_name_their_field():
    d = example()
    d["graph"]["nodes"][0]["pos"][0] = 10**400
    assert refusal(d).field == "graph.nodes[0].pos[0]"
    d = example()
    d["graph"]["nodes"][1]["params"]["out_channels"] = 10**400
    err = refusal(d)
    assert err.field == "graph.nodes[1].params" or d["graph"]["nodes"][1]["type"] != \
        "conv.Conv2d"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused_anywhere(literal):
    # in the free-form dataset settings too: saving them back would write invalid JSON
    text = EXAMPLES["xor_mlp"].decode().replace('"val_split": 0.25', f'"val_split": {literal}')
    assert literal in text
    assert "not a valid project file" in str(refusal(text))


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")])
def test_deep_nesting_is_refused_in_bounded_memory(opener, closer):
    deep = opener * 10_000 + "1" + closer * 10_000
    text = EXAMPLES["xor_mlp"].decode().replace('"noise": 0.05', f'"noise": {deep}')
    tracemalloc.start()
    try:
        err = refusal(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "nested too deeply" in str(err)
    assert peak < 50 * 2**20


@pytest.mark.parametrize("version,why", [
    (3, "newer than this Studio understands"), (999, "newer"), (0, "unknown format_version"),
    (-5, "unknown format_version"), ("1", "expected an integer"), (1.0, "expected an integer"),
    (None, "expected an integer"), (10**400, "newer"),
])
def test_unknown_versions(version, why):
    d = example()
    d["format_version"] = version
    err = refusal(d)
    assert err.field == "format_version" and why in str(err)


def test_unknown_layer_type_names_the_node():
    d = example()
    d["graph"]["nodes"][2]["type"] = "evil.RunShell"
    err = refusal(d)
    assert err.field == "graph.nodes[2].type" and "evil.RunShell" in str(err)


def test_duplicate_node_ids_name_the_id_field():
    d = example()
    d["graph"]["nodes"][3]["id"] = d["graph"]["nodes"][1]["id"]
    err = refusal(d)
    assert err.field == "graph.nodes[3].id" and "duplicate" in str(err)


def test_empty_node_id_is_refused():
    d = example()
    d["graph"]["nodes"][0]["id"] = ""
    assert refusal(d).field == "graph.nodes[0].id"


@pytest.mark.parametrize("change,words", [
    ({"dst_port": "in7"}, "no input port 'in7'"), ({"src_port": "nope"}, "no output port"),
    ({"dst": "ghost"}, "no node with id 'ghost'"), ({"src": ""}, "no node with id ''"),
])
def test_edges_to_missing_nodes_or_ports(change, words):
    d = example()
    d["graph"]["edges"][0].update(change)
    err = refusal(d)
    assert err.field == "graph.edges[0]" and words in str(err)


def test_input_taken_twice_is_refused():
    d = example()
    d["graph"]["edges"].append(dict(d["graph"]["edges"][1]))
    assert "already connected" in str(refusal(d))


@pytest.mark.parametrize("field,value,where", [
    ("name", 5, "graph.nodes[0].name"), ("params", [], "graph.nodes[0].params"),
    ("pos", [1], "graph.nodes[0].pos"), ("pos", "0,0", "graph.nodes[0].pos"),
    ("trainable", "yes", "graph.nodes[0].trainable"), ("type", None, "graph.nodes[0].type"),
])
def test_wrong_types_name_the_field(field, value, where):
    d = example()
    d["graph"]["nodes"][0][field] = value
    assert refusal(d).field == where


def test_non_utf8_bytes_are_refused(tmp_path):
    path = tmp_path / "bad.nnproj"
    raw = EXAMPLES["xor_mlp"]
    path.write_bytes(raw[:100] + b"\xff\xfe" + raw[100:])
    with pytest.raises(ProjectError, match="invalid UTF-8 at byte 100"):
        load_project(path)


def test_oversized_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.nnproj"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written to the disk
    tracemalloc.start()
    try:
        with pytest.raises(ProjectError, match="MB"):
            load_project(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


@pytest.mark.parametrize("target", ["dir", "missing", "fifo"])
def test_unreadable_paths(tmp_path, target):
    path = tmp_path / "p.nnproj"
    if target == "dir":
        path.mkdir()
    elif target == "fifo":
        pytest.importorskip("os").mkfifo(path)
        return  # opening a fifo would block: only make sure stat-based checks do not crash
    with pytest.raises(ProjectError, match="cannot read"):
        load_project(path)


# -- the weights file beside the project ------------------------------------------------------

def _valid_weights() -> bytes:
    from safetensors.numpy import save
    rng = np.random.default_rng(0)
    return save({"n2/weight": rng.standard_normal((8, 2)).astype(np.float32),
                 "n2/bias": np.zeros(8, np.float32), "n4/weight": np.ones((1, 8), np.float32)},
                metadata={"format": "studio-node-weights"})


def _mutate_weights(raw: bytes, rnd: random.Random) -> bytes:
    header_len = int.from_bytes(raw[:8], "little")
    header = raw[8:8 + header_len]
    roll = rnd.randrange(5)
    if roll == 0:
        return raw[:rnd.randrange(len(raw))]
    if roll == 1:  # a lying header length
        return rnd.choice([0, 1, 2**63 - 1, 2**64 - 1, len(raw) * 4]).to_bytes(8, "little") + \
            raw[8:]
    if roll == 2:  # edit the JSON header: shapes, offsets, dtypes
        text = header.decode()
        for old, new in [("[8,2]", rnd.choice(["[8,3]", "[99999999,99999999]", "[-1]"])),
                         ("F32", rnd.choice(["F64", "I8", "XX", "O"])),
                         ("data_offsets\":[0", "data_offsets\":[5")]:
            if rnd.random() < 0.5:
                text = text.replace(old, new)
        body = text.encode()
        return len(body).to_bytes(8, "little") + body + raw[8 + header_len:]
    buf = bytearray(raw)
    for _ in range(rnd.randint(1, 10)):
        buf[rnd.randrange(len(buf))] = rnd.randrange(256)
    return bytes(buf)


@FUZZ
@given(rnd=st.randoms(use_true_random=False))
def test_mutated_weights_files_load_or_are_refused(rnd):
    from engine.project import load_weights
    raw = _mutate_weights(_valid_weights(), rnd)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.nnproj"
        path.write_bytes(EXAMPLES["xor_mlp"])
        path.with_suffix(".safetensors").write_bytes(raw)
        try:
            project = load_project(path)
        except ProjectError as exc:
            assert "p.safetensors" in str(exc)
            return
        assert set(project.graph.weights) <= set(project.graph.nodes)
        load_weights(path.with_suffix(".safetensors"))


def test_weights_that_do_not_fit_the_model_are_a_clear_error(tmp_path):
    pytest.importorskip("torch")
    from engine.compile import WeightsError
    path = tmp_path / "p.nnproj"
    path.write_bytes(EXAMPLES["xor_mlp"])
    raw = _valid_weights().replace(b"[8,2]", b"[2,8]")
    path.with_suffix(".safetensors").write_bytes(raw)
    project = load_project(path)
    with pytest.raises(WeightsError, match="'weight' has shape"):
        engine.compile_graph(project.graph)
