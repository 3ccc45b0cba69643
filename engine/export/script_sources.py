"""The engine code an exported script carries: engine.data, engine.train losses/metrics/
optimizers, copied with `inspect.getsource` so that the script and the app share one
implementation (and the script needs no Studio install)."""
from __future__ import annotations

import inspect
import re
import textwrap

from .common import ExportError

SUPPORTED_SYNTHETIC = ("xor", "spirals", "sine", "ratings", "text")
FILE_SOURCES = ("csv", "npy", "npz", "idx", "image_folder")


# lint findings in copied engine code that are harmless in the script: pattern -> rule code
_NOQA = {"int(round(": "RUF046"}


_LOCAL_RELATIVE_IMPORT = re.compile(r"^[ \t]+from \.[\w.]* import [^\n(]*\n", re.MULTILINE)


def _without_relative_imports(text: str) -> str:
    """Drop function-level `from .module import name` lines: the script defines those names
    at its top level (the modules they come from are copied in too)."""
    return _LOCAL_RELATIVE_IMPORT.sub("", text)


def _source(obj) -> str:
    """The source of an engine function or class, ready to paste at the script's top level."""
    text = _without_relative_imports(textwrap.dedent(inspect.getsource(obj)))
    lines = text.rstrip().splitlines()
    for i, line in enumerate(lines):
        codes = [code for pattern, code in _NOQA.items() if pattern in line]
        if codes and "# noqa" not in line:
            lines[i] = f"{line}  # noqa: {', '.join(codes)}"
    return "\n".join(lines) + "\n"


def _module_body(module, renames: dict[str, str] | None = None, skip: tuple = ()
                 ) -> tuple[list[str], list[str]]:
    """(statements, import lines) of a module: every top-level statement except its docstring,
    its imports (returned separately, for the script's import block; relative ones dropped)
    and the definitions named in `skip`; names in `renames` are renamed (clashes)."""
    import ast

    text = _without_relative_imports(inspect.getsource(module))
    for old, new in (renames or {}).items():
        text = re.sub(rf"\b{old}\b", new, text)
    blocks, imports = [], []
    lines = text.splitlines()
    for i, node in enumerate(ast.parse(text).body):
        if isinstance(node, ast.Import):
            imports += [f"import {a.name}" + (f" as {a.asname}" if a.asname else "")
                        for a in node.names]
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module != "__future__":
                imports += [f"from {node.module} import {a.name}" for a in node.names]
            continue
        if (i == 0 and isinstance(node, ast.Expr)) or getattr(node, "name", None) in skip:
            continue
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        blocks.append("\n".join(lines[first - 1:node.end_lineno]).rstrip() + "\n")
    return blocks, imports


def constant(name: str, value) -> str:
    import pprint

    text = pprint.pformat(value, width=96 - len(name), sort_dicts=False)
    return f"{name} = {text}\n".replace("\n", "\n" + " " * (len(name) + 3)).rstrip() + "\n"


# -- pieces of the engine copied into the script -------------------------------------------------

_RESOLVE_PATH = '''
def resolve_path(rel, project_folder: Path | None, key: str = "path",
                 folder: bool = False) -> Path:
    """A data path from the project file: relative to the project's folder."""
    if not isinstance(rel, str) or not rel.strip():
        raise DataError(f"dataset option {key!r} must name a "
                        f"{'folder' if folder else 'file'}, found {rel!r}")
    path = Path(rel).expanduser()
    if not path.is_absolute():
        path = Path(project_folder or ".") / path
    if folder and not path.is_dir():
        raise DataError(f"data folder {rel!r} not found (looked for {path})")
    if not folder and not path.is_file():
        raise DataError(f"data file {rel!r} not found (looked for {path})")
    return path
'''.lstrip()


def data_sources(dataset: dict, data_folder: str) -> tuple[list[str], str, list[str]]:
    """(source blocks, the dataset's extra requirement, extra import lines) for the data
    section. `data_folder`: the project folder relative to the script."""
    from ..data import base, bundled, loader, prep, synthetic

    source = dataset.get("source")
    name = dataset.get("name")
    blocks = [_source(o) for o in (base.DataError, base.Target, base.RawData, base.Split,
                                   base.DataSplits)]
    blocks += [_source(o) for o in (prep._count, prep.split_indices, prep.fit_normalization,
                                    prep._is_int, prep.normalize_inputs, prep.one_hot)]
    kind, axis = loader._normalization(dataset)
    blocks.append(f"def _normalization(config: dict) -> tuple[str, str]:\n"
                  f"    return config.get(\"normalize\", {kind!r}), "
                  f"config.get(\"normalize_axis\", {axis!r})\n")
    blocks += [_source(o) for o in (loader.dataset_label, loader._int, loader._frac,
                                    loader._subsample, loader._to_input, loader._target_names,
                                    loader._target, loader._convert, loader.prepare)]
    if source == "bundled" or (source is None and name in bundled._LOADERS):
        if name not in bundled._LOADERS:
            raise ExportError(f"unknown bundled dataset {name!r}")
        blocks += [constant("_LOADERS", bundled._LOADERS), _source(bundled.load_bundled)]
        blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                      f"    return load_bundled({name!r}, config)\n")
        return blocks, "scikit-learn", []
    if source == "synthetic" and name == "text":
        from ..data import text

        body, imports = _module_body(text, {"_int": "_text_int"})
        blocks += body
        blocks.append("def load_raw(config: dict) -> RawData:\n    return load_text(config)\n")
        return blocks, "", imports
    if source == "synthetic" and name in SUPPORTED_SYNTHETIC:
        maker = getattr(synthetic, f"make_{name}")
        blocks += [_source(synthetic._opt), _source(synthetic._rng), _source(maker)]
        blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                      f"    return {maker.__name__}(config)\n")
        return blocks, "", []
    if source in FILE_SOURCES or source == "download":
        from ..data import files, idx

        imports = ["from pathlib import Path"]
        blocks += [constant("DEFAULT_MEMORY_BUDGET_MB", base.DEFAULT_MEMORY_BUDGET_MB),
                   _source(prep.label_encode), _source(prep._label_name), _source(prep.windows)]
        from ..data import images, text

        # files.py calls into images.py (image folders) and text.py (CSV text columns)
        for module, skip, renames in ((idx, (), None), (files, ("resolve_path",), None),
                                      (images, (), None), (text, (), {"_int": "_text_int"})):
            body, more = _module_body(module, renames, skip)
            blocks += body
            imports += more
        blocks.append(_RESOLVE_PATH)
        extra = "Pillow" if source == "image_folder" else ""
        if source == "download":
            from ..data import download

            body, more = _module_body(download)
            blocks += body
            imports += more
            blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                          f"    return load_download({name!r}, config)\n")
            return blocks, extra, imports
        blocks.append(constant("DATA_FOLDER", data_folder))
        blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                      f"    folder = Path(__file__).resolve().parent / DATA_FOLDER\n"
                      f"    return load_file_source({source!r}, config, folder)\n")
        return blocks, extra, imports
    what = f"{source} dataset {name!r}" if name else f"'{source}' dataset"
    raise ExportError(f"the Python script export supports scikit-learn's bundled datasets, "
                      f"the synthetic {', '.join(SUPPORTED_SYNTHETIC)} sets and the file "
                      f"sources {', '.join(FILE_SOURCES)} and downloads; this project uses the {what}, "
                      "which is not supported yet")


def training_sources() -> tuple[list[str], list[str]]:
    """(blocks, import lines): the engine's losses, metrics, optimizers/schedules and RBM
    modules whole (so helpers they add later come along), plus the L1/L2 penalty."""
    from ..train import losses, metrics, optim, weights
    from ..train import rbm as rbm_mod

    blocks, imports = [], []
    for module in (losses, metrics, optim, rbm_mod):
        body, more = _module_body(module)
        blocks += body
        imports += more
    blocks.append(_source(weights.penalty))
    return blocks, imports


# -- settings resolved at export time ------------------------------------------------------------


def import_block(model: str, extra: list[str]) -> str:
    """The script's import block (standard library, then numpy/torch), sorted as ruff's isort
    rules expect: plain imports before from-imports, each alphabetical."""
    import sys

    plain = {"argparse", "json", "math", "os", "struct"}
    froms: dict[str, set[str]] = {"dataclasses": {"dataclass", "field"}}
    for line in extra:
        if line.startswith("import "):
            plain.add(line[len("import "):])
        else:
            module, _, name = line[len("from "):].partition(" import ")
            froms.setdefault(module, set()).add(name)
    std = [m for m in plain if m.split(".")[0] in sys.stdlib_module_names]
    lines = [f"import {m}" for m in sorted(std)]
    lines += [f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(froms.items())]
    third = ["import numpy as np", "import torch"]
    if "F." in model:
        third.append("import torch.nn.functional as F")
    third.append("from torch import nn")
    return "\n".join(lines) + "\n\n" + "\n".join(third) + "\n"


def check_unique_names(text: str) -> None:
    """Copied engine modules must not define a top-level name twice (one would shadow the
    other silently)."""
    import ast

    seen: set[str] = set()
    for node in ast.parse(text).body:
        names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else \
            [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        for name in names:
            if name in seen:
                raise ExportError(f"internal error: the script would define {name!r} twice")
            seen.add(name)
