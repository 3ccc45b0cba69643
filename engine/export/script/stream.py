"""The script's data for a dataset Studio streams from disk (engine.data.lazy, stream.py):
`load_data` lists the samples (image files, or the rows of a .npy file) without reading
them, splits and normalizes as in memory, and gives each split a torch Dataset that reads,
augments and normalizes whole batches; `Streamed` reads them through a DataLoader whose
worker processes live across epochs. Batches, seeds and values are Studio's."""
from __future__ import annotations

import math

from .data_plan import DataPlan
from .sources import Source, wanted
from .text import block, docstring, lit, wrapped

STREAMED = block('''
    class Streamed:
        """A split's inputs read from disk batch by batch by `workers` processes that live
        across epochs (0: read here), each batch moved to `device`."""

        def __init__(self, samples, workers, device):
            self.samples, self.device, self.plan = samples, device, []
            self.loader = torch.utils.data.DataLoader(
                samples, batch_size=None, sampler=self.plan, num_workers=workers,
                persistent_workers=workers > 0, pin_memory=device.type == "cuda",
                generator=torch.Generator())  # leaves the global random state alone

        def __len__(self):
            return len(self.samples)

        def batches(self, batches, seeds=None):
            """The inputs of each batch of indices, augmented with `seeds` (training)."""
            self.plan[:] = zip(batches, seeds or [None] * len(batches))
            return (xb.to(self.device, non_blocking=True) for xb in self.loader)
    ''')


def image_files(d: DataPlan, root, mode: str, size: tuple[int, int], wide: bool) -> Source:
    """load_data's first lines for a streamed image folder: the files and their labels."""
    from ...data.images import IMAGE_EXTENSIONS
    from .sources_files import WIDE_GREY, image_what, path_code

    exts = wrapped("if path.suffix.lower() in {", [lit(e) for e in sorted(IMAGE_EXTENSIONS)],
                   "}:", 0, outer=3)
    surveyed = d.config.get("image_size", "auto") in (None, "auto") or \
        d.config.get("color", "auto") in (None, "auto")
    keep = ["files.append(path)", "labels.append(label)"]
    if surveyed and d.config.get("on_error", "error") == "skip":
        keep = ["try:", "    Image.open(path).close()", *block("""
            except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
                continue  # unreadable: skipped
            """), *keep]
    lines = [f"root = {path_code(d, 'path')}",
             ("classes = sorted(p.name for p in root.iterdir() if p.is_dir() and "
              "not p.name.startswith(\".\"))"), "files, labels = [], []",
             "for label, name in enumerate(classes):  # one sub-folder per class",
             "    for path in sorted((root / name).iterdir()):",
             "        if not path.is_file() or path.name.startswith(\".\"):",
             "            continue", *["        " + ln for ln in exts],
             *["            " + ln for ln in keep],
             "x = np.array(files)  # read when a batch needs them (Images)"]
    var = wanted(d).get("label")
    if var:
        lines.append(f"{var} = np.array(labels, dtype=np.int64)")
    helpers = [WIDE_GREY] if wide else []
    return Source(lines, image_what(d, mode, size) + ", read from disk batch by batch",
                  [*helpers, _images_class(d, mode, size, wide)])


def npy_rows(d: DataPlan) -> Source:
    """load_data's first lines for a streamed .npy file: its row numbers (and the labels)."""
    from .sources_files import encode_target, path_code

    lines = [f"path = {path_code(d, 'path')}",
             ("x = np.arange(len(np.load(path, mmap_mode=\"r\", allow_pickle=False)))  "
              "# row numbers")]
    var = wanted(d).get("label")
    if var:
        lines.append(f"{var} = np.load({path_code(d, 'y_path')}, allow_pickle=False)")
        lines += encode_target(var, d.raw.targets["label"])
    return Source(lines, f"the NumPy file {d.config['path']}, read from disk batch by batch",
                  [_rows_class(d)])


def reader(d: DataPlan, part: str) -> str:
    """The Dataset of a split's samples `part` (an index array of x)."""
    stats = ", offset, scale" if d.normalize else ""
    return f"Images(x[{part}]{stats})" if d.source == "image_folder" else \
        f"Rows(path, x[{part}]{stats})"


def _images_class(d: DataPlan, mode: str, size, wide: bool) -> list[str]:
    from .sources_files import prepare_image

    to_array = "np.asarray(image, dtype=np.uint8)" + \
        ("[None]" if mode == "L" else ".transpose(2, 0, 1)")
    read = ['"""Raw pixel values (n, C, H, W) of images `indices`."""', "images = []",
            "for path in self.files[indices]:", "    with Image.open(path) as image:",
            *["        " + ln for ln in prepare_image(d, mode, size, wide)],
            f"        images.append({to_array})", "return np.stack(images)"]
    return _dataset_class(d, "Images", "files", "image files decoded when a batch is read",
                          read)


def _rows_class(d: DataPlan) -> list[str]:
    shape = ", ".join(map(str, d.input_shape))
    dtype = "np.int64" if d.int_input else "np.float32"
    read = ['"""Samples `indices` (rows of the file) with the Input node\'s shape."""',
            "rows = np.load(self.path, mmap_mode=\"r\", allow_pickle=False)  # a memory map",
            f"return np.asarray(rows[self.rows[indices]], dtype={dtype}).reshape(-1, {shape})"]
    return _dataset_class(d, "Rows", "rows", "rows of a .npy file read through a memory map",
                          read, path=True)


def _dataset_class(d: DataPlan, name: str, what: str, doc: str, read: list[str],
                   path: bool = False) -> list[str]:
    """A torch Dataset whose items are whole batches: (indices, seed) -> the batch's inputs
    as Studio's DataLoader workers make them (engine.data.stream.BatchReader)."""
    args = ["path, " if path else "", what, ", offset=None, scale=None" if d.normalize else ""]
    init = [f"def __init__(self, {''.join(args)}):",
            *([f"    self.path, self.{what} = path, {what}"] if path else
              [f"    self.{what} = {what}"])]
    if d.normalize:
        init.append("    self.offset, self.scale = offset, scale  # None: not normalized "
                    "(statistics)")
    get = ["def __getitem__(self, item):",
           "    indices, seed = item" if d.augment else "    indices, _ = item  # no seed: no augmentation",
           "    x = torch.from_numpy(self.read(np.asarray(indices)))"]
    if not d.int_input:
        get[-1] += ".float()"
        if d.augment:
            get += ["    if seed is not None:  # a training batch", "        x = augment(x, seed)"]
        if d.normalize:
            get.append("    x = (x - torch.as_tensor(self.offset)) / torch.as_tensor(self.scale)")
    get.append("    return x")
    whats = "augmented when `seed` is given (training), " if d.augment else ""
    docs = [f'"""The {doc}; an item (indices, seed) is a whole batch of inputs, {whats}'
            + ("normalized" if d.normalize else "as floats") + '."""']
    body = [*docstring(docs[0][3:-3], 1), "", *["    " + ln for ln in init], "",
            "    def __len__(self):", f"        return len(self.{what})", "",
            "    def read(self, indices):", *["        " + ln for ln in read], "",
            *["    " + ln if ln else ln for ln in get]]
    return [f"class {name}(torch.utils.data.Dataset):", *body]


def statistics(d: DataPlan) -> list[str]:
    """The training split's min-max or mean/std statistics, read in blocks of samples as
    engine.data.prep.fit_normalization reads a streamed split (same blocks, same sums)."""
    from ...data.prep import NORMALIZE_BLOCK

    kind, axis = d.normalize
    ndim = len(d.input_shape) + 1
    red = tuple(range(ndim)) if axis == "global" else \
        (0, *range(2, ndim)) if axis == "channel" and ndim >= 3 else (0,)
    step = max(1, NORMALIZE_BLOCK // max(1, math.prod(d.input_shape)))
    train = reader(d, "train").replace(", offset, scale", "")
    blocks = [(f"blocks = (samples.read(np.arange(i, min(i + {step}, len(samples))))"
               ".astype(np.float32)"), f"          for i in range(0, len(samples), {step}))"]
    lines = [f"samples = {train}  # the training split, read in blocks of {step}", *blocks]
    over = f"axis={red}, keepdims=True"
    if kind == "minmax":
        lines += [f"low = high = None  # min-max over {_axis_words(axis)}",
                  "for block in blocks:",
                  f"    lo, hi = block.min({over}), block.max({over})",
                  "    low = lo if low is None else np.minimum(low, lo)",
                  "    high = hi if high is None else np.maximum(high, hi)",
                  "offset = low.astype(np.float64)",
                  "scale = high.astype(np.float64) - offset"]
    else:
        lines += [f"total = sum(block.sum({over}, dtype=np.float64) for block in blocks)",
                  f"offset = total / {_count(d, red)}",
                  *blocks,
                  f"squares = sum(np.square(block - offset).sum({over}) for block in blocks)",
                  f"scale = np.sqrt(squares / {_count(d, red)})"]
    return [*lines, "scale = np.where(scale > 1e-12, scale, 1.0)",
            "offset, scale = offset[0].astype(np.float32), scale[0].astype(np.float32)"]


def _count(d: DataPlan, red: tuple[int, ...]) -> str:
    """How many values each statistic is taken over (the engine's float division)."""
    kept = math.prod(s for a, s in enumerate(d.input_shape, start=1) if a not in red)
    per = math.prod(d.input_shape) // kept
    return f"(len(samples) * {per})" if per != 1 else "len(samples)"


def _axis_words(axis: str) -> str:
    return {"global": "all values", "channel": "each channel",
            "feature": "each input value"}[axis]


def augment_helpers(d: DataPlan) -> list[list[str]]:
    from .augment import augment_code

    return augment_code(d.augment, d.value_range) if d.augment else []


__all__ = ["STREAMED", "augment_helpers", "image_files", "npy_rows", "reader", "statistics"]
