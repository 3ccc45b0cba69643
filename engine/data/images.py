"""Image folders: one sub-folder per class, read with Pillow.

Images of other sizes are resized (bilinear, aspect ratio not kept) to "image_size"; with
"resize": N the shorter side is first scaled to N (aspect ratio kept) and the centre
"image_size" cut out, as ImageNet models expect ("interpolation": bilinear, bicubic,
nearest). Modes are converted to "L" (grey, 1 channel) or "RGB" (3 channels). A file that
Pillow cannot read raises DataError naming it ("on_error": "error", the default) or is
skipped and listed in DataSplits.warnings ("on_error": "skip").

A folder whose decoded images exceed the memory budget is not refused: it is streamed
(`engine.data.lazy.ImageSamples`), each image decoded when a batch needs it.
"""
from __future__ import annotations

import os
import stat
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..guard.paths import OutsideProject, check_inside
from ..guard.text import quote
from .base import DataError, OutsideData, RawData, Target, stream_mode
from .idx import check_budget

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                    ".ppm", ".pgm", ".pbm"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")


@dataclass(frozen=True)
class ImagePrep:
    """How every image of a folder is prepared: colour mode, final (H, W), an optional
    shorter-side resize before a centre crop, the resampling filter."""

    mode: str
    size: tuple[int, int]
    resize: int | None = None
    interpolation: str = "bilinear"

    @property
    def channels(self) -> int:
        return 3 if self.mode == "RGB" else 1


def _bad_image_errors():
    from PIL import Image
    return (OSError, SyntaxError, ValueError, EOFError, struct.error,
            Image.DecompressionBombError)


def list_images(root: Path, project_folder: Path | None = None,
                allow_outside: bool = True) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted sub-folder names) and (file, class index) pairs. Every class
    folder and image must really lie inside the project folder (a symlink to elsewhere is
    refused like any other data path) unless `allow_outside`."""
    def inside(path: Path) -> None:
        rel = path.relative_to(root).as_posix()
        try:
            check_inside(path, project_folder, allow_outside=allow_outside,
                         key=f"image folder {quote(root.name)}:", shown=rel)
        except (OutsideProject, RuntimeError, OSError) as exc:
            raise OutsideData(str(exc), getattr(exc, "path", None)) from None

    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"image folder {quote(root.name)} has no sub-folders; put each "
                        "class's images in a sub-folder named after the class")
    files = []
    for ci, c in enumerate(classes):
        inside(root / c)
        for p in sorted((root / c).iterdir()):
            if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and \
                    (os.path.islink(p) or not p.is_dir()):
                inside(p)
                files.append((p, ci))
    if not files:
        raise DataError(f"image folder {quote(root.name)} has no images (looked for "
                        f"{', '.join(sorted(IMAGE_EXTENSIONS))} files in its sub-folders)")
    return classes, files


def linked_outside(root: Path, project_folder: Path | None, limit: int = 100) -> list[Path]:
    """Real paths of class folders and images under `root` that are links leading outside
    the project folder (at most `limit`)."""
    found: list[Path] = []
    try:
        classes = [d for d in sorted(root.iterdir()) if d.is_dir()]
        for entry in classes + [p for d in classes for p in sorted(d.iterdir())]:
            if len(found) >= limit:
                break
            try:
                check_inside(entry, project_folder, allow_outside=False, key="", shown="")
            except OutsideProject as exc:
                found.append(exc.path)
            except (RuntimeError, OSError):
                pass
    except OSError:
        pass
    return found


def load_image_folder(root: Path, config: dict, budget: float,
                      project_folder: Path | None = None, allow_outside: bool = True
                      ) -> RawData:
    """Options: image_size ([H, W], an int, or 'auto' = the most common size), color
    ('L' | 'RGB' | 'auto' = RGB when any image has colour), on_error ('error' | 'skip')."""

    on_error = config.get("on_error", "error")
    if on_error not in ("error", "skip"):
        raise DataError(f"dataset option 'on_error' must be 'error' or 'skip', found "
                        f"{quote(on_error)}")
    classes, files = list_images(root, project_folder, allow_outside)
    warnings: list[str] = []
    files = _regular_files(root, files, on_error, warnings)
    size, mode = _size(config), _mode(config)
    if size is None or mode is None:
        files, sizes, modes = _survey(root, files, on_error, warnings)
        size = size or Counter(sizes).most_common(1)[0][0]
        mode = mode or ("RGB" if any(m not in GREY_MODES for m in modes) else "L")
    prep = ImagePrep(mode, size, _resize(config), _interpolation(config))
    need = len(files) * prep.channels * size[0] * size[1] * 4
    if stream_mode(config, need, budget):
        return _streamed(root, files, classes, prep, warnings)
    check_budget(need, budget, f"image folder {quote(root.name)} ({len(files)} images)")
    xs, ys = [], []
    for path, ci in files:
        try:
            arr = _decode(path, prep)
        except _bad_image_errors() as exc:
            _bad(root, path, exc, on_error, warnings)
            continue
        xs.append(arr.astype(np.float32))
        ys.append(ci)
    if not xs:
        raise DataError(f"image folder {quote(root.name)}: none of its images could be read")
    x = np.stack(xs)
    label = Target(np.array(ys, dtype=np.int64), "classification", len(classes), classes)
    return RawData(x, {"label": label}, description=_describe(root, len(x), classes, prep,
                                                              warnings), warnings=warnings,
                   value_range=255.0)


def _describe(root: Path, n: int, classes: list[str], prep: ImagePrep, warnings) -> str:
    size = f"{prep.size[0]}x{prep.size[1]}"
    how = f"resized to {prep.resize}, centre {size}" if prep.resize else size
    return (f"{root.name}: {n} images in {len(classes)} classes, {prep.mode} {how}" +
            (f", {len(warnings)} skipped" if warnings else ""))


def _streamed(root, files, classes, prep, warnings) -> RawData:
    """The folder as samples decoded on demand (larger than the memory budget)."""
    from .lazy import ImageSamples, LazyView

    samples = ImageSamples(root, [p for p, _ in files], prep)
    label = Target(np.array([ci for _, ci in files], dtype=np.int64), "classification",
                   len(classes), classes)
    desc = _describe(root, len(files), classes, prep, warnings) + ", streamed from disk"
    return RawData(LazyView(samples), {"label": label}, description=desc, warnings=warnings,
                   value_range=255.0)


def decode(root: Path, path: Path, prep: ImagePrep) -> np.ndarray:
    """One image as uint8 (C, H, W) prepared by `prep`; DataError naming it if unreadable."""
    try:
        return _decode(path, prep)
    except _bad_image_errors() as exc:
        _bad(root, path, exc, "error", [])
        raise  # unreachable: _bad raises


def _decode(path: Path, prep: ImagePrep) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return _to_array(im, prep)


def _to_array(im, prep: ImagePrep) -> np.ndarray:
    from PIL import Image

    mode = prep.mode
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F") and mode == "L":
        a = np.asarray(im, dtype=np.float32)
        hi = a.max() if a.size else 0.0
        im = Image.fromarray((a * (255.0 / hi) if hi > 255 else a).astype(np.uint8), "L")
    im = im.convert(mode)
    h, w = prep.size
    resample = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
                "nearest": Image.Resampling.NEAREST}[prep.interpolation]
    if prep.resize:
        im = _resize_shorter(im, prep.resize, resample)
        left, top = round((im.size[0] - w) / 2.0), round((im.size[1] - h) / 2.0)
        im = im.crop((left, top, left + w, top + h))  # zero padding where it is too small
    elif im.size != (w, h):
        im = im.resize((w, h), resample)
    a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _regular_files(root: Path, files, on_error: str, warnings: list[str]):
    """Only regular files are opened: a FIFO would block forever, a device never ends."""
    kept = []
    for path, ci in files:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            _bad(root, path, exc, on_error, warnings)
            continue
        if not stat.S_ISREG(mode):
            _bad(root, path, ValueError("it is not a regular file (a FIFO, device or "
                                        "folder)"), on_error, warnings)
            continue
        kept.append((path, ci))
    return kept


def _resize_shorter(im, size: int, resample):
    """Scale so that the shorter side is `size` (torchvision's Resize(int) arithmetic)."""
    w, h = im.size
    if min(w, h) == size:
        return im
    if w <= h:
        return im.resize((size, int(size * h / w)), resample)
    return im.resize((int(size * w / h), size), resample)


def _survey(root, files, on_error, warnings):
    """Open each header once: sizes (H, W) and modes; unreadable files handled by on_error."""
    from PIL import Image

    kept, sizes, modes = [], [], []
    for path, ci in files:
        try:
            with Image.open(path) as im:
                sizes.append((im.size[1], im.size[0]))
                modes.append(im.mode)
        except _bad_image_errors() as exc:
            _bad(root, path, exc, on_error, warnings)
            continue
        kept.append((path, ci))
    if not kept:
        raise DataError(f"image folder {quote(root.name)}: none of its images could be read")
    return kept, sizes, modes


def _bad(root: Path, path: Path, exc: Exception, on_error: str, warnings: list[str]) -> None:
    rel = path.relative_to(root).as_posix()
    reason = str(exc).split("\n")[0] or type(exc).__name__
    if on_error == "error":
        raise DataError(f"image {quote(rel)} in folder {quote(root.name)} could not be read: {reason} "
                        "(remove it, or set the dataset option 'on_error' to 'skip')")
    warnings.append(f"skipped {rel}: {reason}")


def _size(config: dict) -> tuple[int, int] | None:
    v = config.get("image_size", "auto")
    if v in (None, "auto"):
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v, v]
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 4096 for d in v):
        return int(v[0]), int(v[1])
    raise DataError(f"dataset option 'image_size' must be [height, width] in pixels (1..4096) "
                    f"or 'auto', found {quote(v)}")


def _mode(config: dict) -> str | None:
    v = config.get("color", "auto")
    if v in (None, "auto"):
        return None
    if v in ("L", "RGB"):
        return v
    raise DataError(f"dataset option 'color' must be 'L', 'RGB' or 'auto', found {quote(v)}")


def _resize(config: dict) -> int | None:
    v = config.get("resize")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 8192:
        raise DataError(f"dataset option 'resize' must be the shorter side in pixels "
                        f"(1..8192) or null, found {quote(v)}")
    return v


def _interpolation(config: dict) -> str:
    v = config.get("interpolation", "bilinear")
    if v not in INTERPOLATIONS:
        raise DataError(f"dataset option 'interpolation' must be one of "
                        f"{', '.join(INTERPOLATIONS)}, found {quote(v)}")
    return v
