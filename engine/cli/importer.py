"""`studio import model.py:ClassName --input-shape 1,3,32,32 -o FILE.nnproj`, and
`studio import model.onnx|model.keras|model.h5 -o FILE.nnproj`.

Loading the .py file runs it (that is what importing a model class means); nothing is
unpickled. The class is instantiated without arguments. ONNX and Keras files are only read:
nothing in them is executed.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("import", help="import a model into a project: a PyTorch nn.Module "
                       "class from a .py file (traced with torch.fx), an .onnx file or a "
                       "Keras .keras/.h5 file")
    p.add_argument("target", metavar="FILE.py:ClassName | MODEL.onnx | MODEL.keras | MODEL.h5",
                   help="the Python file and the nn.Module class in it, or a model file")
    p.add_argument("--input-shape", action="append", metavar="N,C,H,W",
                   help="shape of an example input, batch first (repeat for several inputs; "
                   "needed for .py, optional for ONNX inputs with unknown sizes)")
    p.add_argument("--input-dtype", action="append", choices=("float", "long"),
                   help="dtype of each input (default float; long for token ids)")
    p.add_argument("-o", "--output", required=True, help="the .nnproj file to write")
    p.set_defaults(func=run)


def parse_shape(text: str) -> tuple[int, ...]:
    """'1,3,32,32' (or '1x3x32x32') -> (1, 3, 32, 32); ValueError with the reason."""
    parts = [p for p in text.replace("x", ",").replace(" ", "").split(",") if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"--input-shape {text!r}: expected integers like 1,3,32,32") from None
    if len(shape) < 2 or any(d < 1 for d in shape):
        raise ValueError(f"--input-shape {text!r}: give the batch and at least one more "
                         "positive dimension")
    return shape


def load_class(target: str):
    """The class `ClassName` from `path/to/file.py:ClassName` (runs the file)."""
    path_text, sep, name = target.rpartition(":")
    if not sep or not name or not path_text:
        raise ValueError(f"{target!r}: expected FILE.py:ClassName")
    path = Path(path_text)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"studio_import_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 (the user's file may raise anything)
        raise ValueError(f"{path}: running the file failed: {type(exc).__name__}: {exc}") \
            from None
    finally:
        sys.path.pop(0)
    cls = getattr(module, name, None)
    if cls is None:
        raise ValueError(f"{path} defines no {name!r}")
    return cls


def _model_file(target: str) -> bool:
    from ..importers import MODEL_SUFFIXES

    return Path(target).suffix.lower() in MODEL_SUFFIXES


def _wrote(graph, project, path) -> int:
    n_weights = sum(len(t) for t in graph.weights.values())
    print(f"wrote {path} ({len(graph.nodes)} nodes, {len(graph.edges)} edges; "
          f"{n_weights} tensors in {project.weights_path(path).name})")
    return 0


def run_file(args) -> int:
    """`studio import MODEL.onnx|.keras|.h5 -o FILE.nnproj`."""
    from ..importers import ImportModelError, import_file
    from ..project import Project, ProjectError, save_project

    try:
        shapes = None
        if args.input_shape:
            from ..importers.onnx_import import input_names

            names = input_names(args.target)
            shapes = dict(zip(names, (parse_shape(s) for s in args.input_shape)))
        graph, description = import_file(args.target, shapes)
        project = Project(graph, meta={"name": Path(args.output).stem,
                                       "description": description})
        path = save_project(project, args.output)
    except (ValueError, ImportModelError, ProjectError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _wrote(graph, project, path)


def run(args) -> int:
    if _model_file(args.target):
        return run_file(args)
    if not args.input_shape:
        print("error: --input-shape is required for a .py model", file=sys.stderr)
        return 1
    try:
        import torch

        from ..importers import ImportModelError, import_module
        from ..project import Project, ProjectError, save_project
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        shapes = [parse_shape(s) for s in args.input_shape]
        dtypes = list(args.input_dtype or [])
        dtypes += ["float"] * (len(shapes) - len(dtypes))
        cls = load_class(args.target)
        module = cls()
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"{args.target} is not an nn.Module")
        module.eval()
        torch.manual_seed(0)
        examples = [torch.randn(s) if d == "float" else torch.zeros(s, dtype=torch.long)
                    for s, d in zip(shapes, dtypes)]
        graph = import_module(module, examples[0] if len(examples) == 1 else tuple(examples))
        name = Path(args.output).stem
        project = Project(graph, meta={"name": name, "description": f"Imported from "
                                       f"{Path(args.target).name} with torch.fx"})
        path = save_project(project, args.output)
    except (ValueError, TypeError, ImportModelError, ProjectError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _wrote(graph, project, path)
