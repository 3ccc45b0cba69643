"""`load_data`'s first lines for the file sources (engine/data/files.py, images.py, idx.py):
CSV, .npy, .npz, IDX and image folders, with the choices Studio made at export (delimiter,
columns, label encodings, image size and colour) written in."""
from __future__ import annotations

from pathlib import Path

from .data_plan import DataPlan
from .sources import Source, wanted
from .text import block, lit, wrapped

READ_IDX = block('''
    def read_idx(path):
        """An IDX array (MNIST's format, gzip-compressed or raw): type, sizes, big-endian data."""
        with open(path, "rb") as f:
            data = f.read()
        if data[:2] == b"\\x1f\\x8b":
            data = gzip.decompress(data)
        dtype = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}[data[2]]
        shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
        return np.frombuffer(data, dtype, offset=4 + 4 * data[3]).reshape(shape)
    ''')


def path_code(d: DataPlan, key: str) -> str:
    """A data path from the project file as the script finds it: relative to the project's
    folder (`folder`, see file_source), or absolute."""
    rel = str(d.config.get(key))
    if Path(rel).expanduser().is_absolute():
        return f"Path({lit(rel)}).expanduser()"
    return f"folder / {lit(rel)}"


def file_source(d: DataPlan) -> Source:
    if d.streamed and d.source == "npy":
        from .stream import npy_rows

        return _in_folder(d, npy_rows(d))
    source = {"csv": csv_source, "npy": npy_source, "npz": npz_source, "idx": idx_source,
              "image_folder": image_source}[d.source](d)
    source = _in_folder(d, source)
    if d.config.get("window"):
        source.lines += windows(d)
    return source


def _in_folder(d: DataPlan, source: Source) -> Source:
    """`folder = ...` first when the source's paths are relative to the project folder."""
    if "folder / " in "\n".join(source.lines):
        where = "" if d.folder in ("", ".") else f" / {lit(d.folder)}"
        source.lines.insert(0, f"folder = Path(__file__).resolve().parent{where}  "
                               "# the project's folder")
    return source


def encode_target(var: str, target) -> list[str]:
    """A loaded target array as Studio encodes it: class indices (sorted labels) or floats."""
    if target.task == "classification":
        src = f"{var}.astype(str)" if target.values.dtype.kind in "USO" else var
        return [f"_, {var} = np.unique({src}, return_inverse=True)  # class indices"]
    return [f"{var} = {var}.astype(np.float32).reshape(len({var}), -1)"]


# -- CSV ------------------------------------------------------------------------------------------

def csv_source(d: DataPlan) -> Source:
    from ...data.base import dataset_budget_mb
    from ...data.csv_file import _csv_columns, _csv_targets, _read_rows, _sniff
    from ...data.files import resolve_path

    path = resolve_path(d.config.get("path"), d.project_folder, allow_outside=d.allow_outside)
    header, _ = _read_rows(path, d.config, dataset_budget_mb(d.config))
    delimiter = d.config.get("delimiter") or _sniff(path.read_text(encoding="utf-8-sig"))
    lines = block("""
        with open({path}, encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f, delimiter={delim}) if any(c.strip() for c in row)]
        """, path=path_code(d, "path"), delim=lit(delimiter))
    lines.append("header = [name.strip() for name in rows.pop(0)]" if d.config.get("header", True)
                 else "header = [str(i) for i in range(len(rows[0]))]")
    cols = _csv_targets(header, d.config, path.name)
    names = d.config.get("targets")
    given = [n for n in (names if isinstance(names, list) else [d.config.get("target")])
             if n not in (None, "label", "input")]
    where = [str(n) if isinstance(n, int) else f"header.index({lit(n)})" for n in given] or \
        ["len(header) - 1"] * len(cols)
    column = {}
    if len(cols) == 1:
        lines.append(f"target = {where[0]}  # the column {header[cols[0]]!r}")
        column[cols[0]] = "target"
    elif cols:
        lines += wrapped("targets = [", where, "]")
        column = {c: f"targets[{i}]" for i, c in enumerate(cols)}
    helpers = []
    if d.config.get("text_column") is not None:
        from .sources_web import TEXT_HELPERS

        (col,) = _csv_columns(header, [d.config["text_column"]], path.name, "text_column")
        lines += [f"texts = [row[{col}] for row in rows]  # the column {header[col]!r}",
                  (f"vocab = vocabulary(texts, {d.config.get('vocab_size', 10000)}, "
                  f"{d.config.get('min_count', 1)})"),
                  f"x = encode(texts, vocab, {d.config.get('max_len', 32)})"]
        helpers = TEXT_HELPERS
    else:
        if d.config.get("features") is not None:
            chosen = _csv_columns(header, d.config["features"], path.name, "features")
            named = ", ".join(repr(header[c]) for c in chosen)
            lines += wrapped("features = [", [str(c) for c in chosen],
                             f"]  # {named}" if len(named) < 40 else "]")
        elif cols:
            skip = "i != target" if len(cols) == 1 else "i not in targets"
            lines.append(f"features = [i for i in range(len(header)) if {skip}]")
        else:
            lines.append("features = range(len(header))")
        lines.append("x = np.array([[float(row[i]) for i in features] for row in rows], "
                     "dtype=np.float32)")
    need = wanted(d)
    for col in cols:
        var = need.get(header[col])
        if var is None:
            continue
        target, cell = d.raw.targets[header[col]], f"row[{column[col]}]"
        if target.task != "classification":
            lines.append(f"{var} = np.array([float({cell}) for row in rows], "
                         f"dtype=np.float32).reshape(-1, 1)")
            continue
        value = f"float({cell})" if _numeric_labels(target) else f"{cell}.strip()"
        lines.append(f"_, {var} = np.unique([{value} for row in rows], return_inverse=True)")
    return Source(lines, f"the CSV file {d.config['path']}", helpers)


def _numeric_labels(target) -> bool:
    """Whether Studio label-encoded this column's numbers (else its text)."""
    try:
        [float(c) for c in target.class_names or []]
    except ValueError:
        return False
    return True


# -- NumPy files ---------------------------------------------------------------------------------

def npy_source(d: DataPlan) -> Source:
    lines = [f"x = np.load({path_code(d, 'path')}, allow_pickle=False).astype(np.float32)"]
    if d.raw.x.ndim == 2 and not d.config.get("window") and _loaded_ndim(d) == 1:
        lines.append("x = x[:, None]")
    var = wanted(d).get("label")
    if var:
        lines.append(f"{var} = np.load({path_code(d, 'y_path')}, allow_pickle=False)")
        lines += encode_target(var, d.raw.targets["label"])
    return Source(lines, f"the NumPy file {d.config['path']}")


def _loaded_ndim(d: DataPlan) -> int:
    """The number of dimensions of the x array in the file (a 1-d file is one feature)."""
    import numpy as np

    from ...data.files import resolve_path
    from ...guard.files import npy_header

    path = resolve_path(d.config.get("path"), d.project_folder, allow_outside=d.allow_outside)
    if d.source == "npy":
        return np.load(path, mmap_mode="r", allow_pickle=False).ndim
    with np.load(path, allow_pickle=False) as npz, \
            npz.zip.open(d.config.get("x_key", "x") + ".npy") as member:
        return len(npy_header(member)[0])


def npz_source(d: DataPlan) -> Source:
    x_key = d.config.get("x_key", "x")
    lines = [f"with np.load({path_code(d, 'path')}, allow_pickle=False) as arrays:",
             f"    x = arrays[{lit(x_key)}].astype(np.float32)"]
    need = wanted(d)
    lines += [f"    {var} = arrays[{lit(name)}]" for name, var in need.items()]
    if d.raw.x.ndim == 2 and _loaded_ndim(d) == 1:
        lines.append("x = x[:, None]")
    for name, var in need.items():
        lines += encode_target(var, d.raw.targets[name])
    return Source(lines, f"the NumPy archive {d.config['path']}")


def windows(d: DataPlan) -> list[str]:
    """series_windows: the rows as a time series cut into windows; targets after each."""
    length, horizon = d.config["window"], d.config.get("horizon", 1)
    lines = ["series = x.reshape(len(x), -1)  # the rows, in file order, as a time series",
             (f"start = np.arange(len(series) - {length + horizon - 1})  # windows of {length}"
             f" steps"), f"x = series[start[:, None] + np.arange({length})]"]
    for name, var in wanted(d).items():
        src = "series" if name == "next" else var
        lines.append(f"{var} = {src}[start + {length + horizon - 1}]  # {horizon} step(s) "
                     "after the window")
    return lines


# -- IDX and image folders -----------------------------------------------------------------------

def idx_source(d: DataPlan) -> Source:
    images = [("x", "path", "labels_path")]
    if d.config.get("test_path"):
        images.append(("test_x", "test_path", "test_labels_path"))
    lines = []
    var = wanted(d).get("label")
    for x, key, labels in images:
        lines.append(f"{x} = read_idx({path_code(d, key)})")
        if d.raw.x.ndim == 4:
            lines.append(f"{x} = {x}[:, None]  # one channel")
        lines.append(f"{x} = {x}.astype(np.float32)")
        if var and d.config.get(labels):
            name = var if x == "x" else f"test_{var}"
            lines.append(f"{name} = read_idx({path_code(d, labels)}).astype(np.int64)")
    return Source(lines, f"the IDX file {d.config['path']}", [READ_IDX])


def image_source(d: DataPlan) -> Source:
    from ...data.files import resolve_path
    from ...data.images import IMAGE_EXTENSIONS, _mode, _size, list_images

    root = resolve_path(d.config.get("path"), d.project_folder, "path", True, d.allow_outside)
    mode, size = _mode(d.config), _size(d.config)
    c, h, w = d.raw.x.shape[1:]
    mode, size = mode or ("RGB" if c == 3 else "L"), size or (h, w)
    wide = mode == "L" and _has_wide_greys(list_images(root)[1])
    skip = d.config.get("on_error", "error") == "skip"
    exts = wrapped("if path.suffix.lower() in {", [lit(e) for e in sorted(IMAGE_EXTENSIONS)],
                   "}:", 0, outer=3)
    if d.streamed:
        from .stream import image_files

        return image_files(d, root, mode, size, wide)
    load = [*prepare_image(d, mode, size, wide),
            "images.append(np.asarray(image, dtype=np.float32)" +
            ("[None])" if mode == "L" else ".transpose(2, 0, 1))")]
    opened = ["with Image.open(path) as image:", *["    " + ln for ln in load]]
    if skip:
        opened = ["try:", *["    " + ln for ln in opened],
                  ("except (OSError, ValueError, SyntaxError, EOFError, "
                  "Image.DecompressionBombError):"), "    continue  # unreadable: skipped"]
    lines = [f"root = {path_code(d, 'path')}",
             ("classes = sorted(p.name for p in root.iterdir() if p.is_dir() and "
             "not p.name.startswith(\".\"))"), "images, labels = [], []",
             "for label, name in enumerate(classes):  # one sub-folder per class",
             "    for path in sorted((root / name).iterdir()):",
             "        if not path.is_file() or path.name.startswith(\".\"):",
             "            continue", *["        " + ln for ln in exts],
             *["            " + ln for ln in opened],
             "            labels.append(label)",
             "x = np.stack(images)"]
    var = wanted(d).get("label")
    if var:
        lines.append(f"{var} = np.array(labels, dtype=np.int64)")
    helpers = [WIDE_GREY] if wide else []
    return Source(lines, image_what(d, mode, size), helpers)


def image_what(d: DataPlan, mode: str, size: tuple[int, int]) -> str:
    colour = "grey" if mode == "L" else "colour"
    resized = f"resized to {d.config['resize']}, centre " if d.config.get("resize") else ""
    return f"the images in {d.config['path']} ({colour}, {resized}{size[0]}x{size[1]})"


def prepare_image(d: DataPlan, mode: str, size: tuple[int, int], wide: bool) -> list[str]:
    """Lines that turn the open `image` into the one Studio trains on (engine.data.images
    `_to_array`): colour mode, then a resize (or the shorter side resized and the centre
    cut out)."""
    h, w = size
    how = f"Image.Resampling.{d.config.get('interpolation', 'bilinear').upper()}"
    lines = [*(["image = wide_grey(image)"] if wide else []), f"image = image.convert({lit(mode)})"]
    shorter = d.config.get("resize")
    if not shorter:
        return [*lines, f"if image.size != ({w}, {h}):",
                f"    image = image.resize(({w}, {h}), {how})"]
    return [f"resample = {how}", *lines, *block("""
        width, height = image.size  # the shorter side to {n} pixels, the aspect ratio kept
        if width <= height and width != {n}:
            image = image.resize(({n}, int({n} * height / width)), {how})
        elif height < width and height != {n}:
            image = image.resize((int({n} * width / height), {n}), {how})
        left, top = round((image.size[0] - {w}) / 2), round((image.size[1] - {h}) / 2)
        image = image.crop((left, top, left + {w}, top + {h}))  # the centre {h}x{w}
        """, n=shorter, w=w, h=h, how="resample")]


WIDE_GREY = block('''
    def wide_grey(image):
        """A 16-bit or float grey image as 8-bit grey (scaled down when brighter than 255)."""
        if image.mode not in ("I;16", "I;16B", "I;16L", "I", "F"):
            return image
        a = np.asarray(image, dtype=np.float32)
        high = a.max() if a.size else 0.0
        return Image.fromarray((a * (255.0 / high) if high > 255 else a).astype(np.uint8), "L")
    ''')


def _has_wide_greys(files) -> bool:
    from PIL import Image

    for path, _ in files:
        try:
            with Image.open(path) as im:
                if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                    return True
        except Exception:  # noqa: BLE001, S112 - unreadable files are the loader's business
            continue
    return False
