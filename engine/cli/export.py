"""`studio export FILE --format python|onnx|torchscript|weights|bundle -o OUT [--run RUN]`."""
from __future__ import annotations

from pathlib import Path

from ..project import ProjectError
from .common import ALLOW_OUTSIDE_HELP, FORCE_HELP, error, open_project

FORMATS = ("python", "onnx", "torchscript", "weights", "bundle")


def register(sub) -> None:
    p = sub.add_parser("export", help="export a project as a Python training script, ONNX, "
                       "TorchScript or safetensors weights")
    p.add_argument("file", help="a .nnproj project file")
    p.add_argument("--format", "-f", choices=FORMATS, default="python",
                   help="python: standalone training script (default); onnx: ONNX model with "
                   "a dynamic batch axis; torchscript: torch.jit archive; weights: the state "
                   "dict as safetensors; bundle: one zip with the script, ONNX, weights, the "
                   "project and an HTML report")
    p.add_argument("-o", "--output", help="output file (default: the project name with the "
                   "format's suffix, beside the project; weights: NAME.state_dict.safetensors)."
                   " An existing file is replaced only with --force; the project's own files "
                   "never")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("--allow-outside-data", action="store_true", help="python: "
                   + ALLOW_OUTSIDE_HELP)
    p.add_argument("--run", help="use the weights of this training run (a run name in the "
                   "project's runs folder, a run folder or a .safetensors file) instead of the "
                   "project's saved weights")
    p.add_argument("--onnx-exporter", choices=("auto", "dynamo", "legacy"), default="auto",
                   help="onnx: torch's exporter to use (auto: dynamo, legacy as fallback)")
    p.add_argument("--part", choices=("model", "decoder", "generator"), default="model",
                   help="onnx: export only a generative model's decoder (after a VAE's "
                   "Sampling node, input: the latent code) or generator (a GAN's part before "
                   "its Generated node, input: the noise)")
    p.add_argument("--no-check", action="store_true",
                   help="onnx: skip the onnxruntime comparison with PyTorch")
    p.set_defaults(func=run)


def default_output(project_file: str, fmt: str) -> Path:
    """Beside the project: NAME.py (a valid module name), NAME.onnx, NAME.pt, or
    NAME.state_dict.safetensors (never NAME.safetensors: that is the project's own weights
    file, in Studio's per-node format)."""
    from ..export import SUFFIXES

    path = Path(project_file)
    if fmt == "python":
        return path.with_name(path.stem.replace("-", "_").replace(".", "_") + ".py")
    if fmt == "weights":
        return path.with_name(path.stem + ".state_dict.safetensors")
    return path.with_suffix(SUFFIXES[fmt])


def run(args) -> int:
    from ..export import export_project
    from ..guard.overwrite import OverwriteError, check_output

    # weights are read when the format needs them (a script does not)
    project = open_project(args.file, args.allow_outside_data, weights="lazy")
    if project is None:
        return 1
    out = Path(args.output) if args.output else default_output(args.file, args.format)
    try:
        check_output(out, force=args.force, protected=project.own_files(),
                     what=f"{args.format} export")
    except OverwriteError as exc:
        return error(exc)
    if args.part != "model" and args.format != "onnx":
        return error(f"--part {args.part} is for --format onnx")
    try:
        if args.format == "onnx":
            from ..export.common import project_weights
            from ..export.onnx import export_onnx

            from ..generative import part_graph

            graph = part_graph(project.graph, args.part)
            weights = project_weights(project, args.run)
            weights = {k: v for k, v in weights.items() if k in graph.nodes} if weights \
                else weights
            result = export_onnx(graph, out, weights, verify=not args.no_check,
                                 exporter=args.onnx_exporter)
        else:
            result = export_project(project, args.format, out, run=args.run,
                                    overwrite=args.force or args.format != "bundle")
    except ValueError as exc:  # ExportError, CompileError, WeightsError, DataError, ConfigError
        return error(f"{args.file}: {exc}")
    except ProjectError as exc:   # the weights file, read now, is unreadable or not the pair's
        return error(exc)
    except OSError as exc:
        return error(f"cannot write {out}: {exc.strerror or exc}")
    print(f"wrote {out}")
    if args.format == "onnx" and result is not None:
        print(f"checked: onnx.checker ok; onnxruntime vs PyTorch max |diff| "
              f"{result.max_abs_diff:.2e} at batch sizes {', '.join(map(str, result.batch_sizes))}"
              f" ({result.exporter} exporter)")
    if args.format == "bundle":
        print("contains: " + ", ".join(result.files))
        for note in result.notes:
            print(f"note: {note}")
    if args.format == "python":
        print(f"run it with: python {out.name}   (or torchrun --nproc_per_node N {out.name})")
    return 0
