"""`studio import model.py:ClassName --input-shape 1,3,32,32 -o FILE.nnproj`, and
`studio import model.onnx|model.keras|model.h5 -o FILE.nnproj`.

The command line of engine.importers (python_file.py for a .py file, which the app's import
dialog calls too). Loading the .py file runs it (that is what importing a model class means);
nothing is unpickled. The class is instantiated without arguments. ONNX and Keras files are
only read: nothing in them is executed.
"""
from __future__ import annotations

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
    p.add_argument("-o", "--output", required=True, help="the .nnproj file to write (with "
                   "its weights beside it); an existing project is replaced only with --force")
    p.add_argument("--force", action="store_true", help="replace an existing project")
    p.set_defaults(func=run)


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
    from ..importers.python_file import parse_shape
    from ..project import Project, ProjectError, save_project

    try:
        shapes = None
        if args.input_shape:
            from ..importers.onnx_import import input_names

            names = input_names(args.target)
            shapes = dict(zip(names, (parse_shape(s, "--input-shape")
                                      for s in args.input_shape)))
        graph, description = import_file(args.target, shapes)
        project = Project(graph, meta={"name": Path(args.output).stem,
                                       "description": description})
        path = save_project(project, args.output)
    except (ValueError, ImportModelError, ProjectError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _wrote(graph, project, path)


def run(args) -> int:
    from ..guard.overwrite import OverwriteError, check_output

    target = Path(args.output).with_suffix(".nnproj")
    try:
        for out in (target, target.with_suffix(".safetensors")):
            check_output(out, force=args.force, what="output")
    except OverwriteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if _model_file(args.target):
        return run_file(args)
    if not args.input_shape:
        print("error: --input-shape is required for a .py model", file=sys.stderr)
        return 1
    try:
        from ..importers import ImportModelError
        from ..importers.python_file import import_python_class, parse_shape
        from ..project import ProjectError, save_project
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        path_text, sep, class_name = args.target.rpartition(":")
        if not sep or not class_name or not path_text:
            raise ValueError(f"{args.target!r}: expected FILE.py:ClassName")
        shapes = [parse_shape(s, "--input-shape") for s in args.input_shape]
        project = import_python_class(path_text, class_name, shapes, args.input_dtype,
                                      name=Path(args.output).stem)
        path = save_project(project, args.output)
    except (ValueError, TypeError, ImportModelError, ProjectError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return _wrote(project.graph, project, path)
