"""Image folders: one sub-folder per class, read with Pillow.

Images of other sizes are resized (bilinear, aspect ratio not kept) to "image_size"; modes
are converted to "L" (grey, 1 channel) or "RGB" (3 channels). A file that Pillow cannot read
raises DataError naming it ("on_error": "error", the default) or is skipped and listed in
DataSplits.warnings ("on_error": "skip").
"""
from __future__ import annotations

import os
import stat
import struct
from collections import Counter
from pathlib import Path

import numpy as np

from ..guard.paths import OutsideProject, check_inside
from ..guard.text import quote
from .base import DataError, OutsideData, RawData, Target
from .idx import check_budget

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                    ".ppm", ".pgm", ".pbm"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


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
    from PIL import Image

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
    channels = 3 if mode == "RGB" else 1
    check_budget(len(files) * channels * size[0] * size[1] * 4, budget,
                 f"image folder {quote(root.name)} ({len(files)} images)")
    xs, ys = [], []
    for path, ci in files:
        try:
            with Image.open(path) as im:
                im.load()
                arr = _to_array(im, mode, size)
        except _bad_image_errors() as exc:
            _bad(root, path, exc, on_error, warnings)
            continue
        xs.append(arr)
        ys.append(ci)
    if not xs:
        raise DataError(f"image folder {quote(root.name)}: none of its images could be read")
    x = np.stack(xs)
    label = Target(np.array(ys, dtype=np.int64), "classification", len(classes), classes)
    desc = (f"{root.name}: {len(x)} images in {len(classes)} classes, {mode} "
            f"{size[0]}x{size[1]}" + (f", {len(warnings)} skipped" if warnings else ""))
    return RawData(x, {"label": label}, description=desc, warnings=warnings)


def _to_array(im, mode: str, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F") and mode == "L":
        a = np.asarray(im, dtype=np.float32)
        hi = a.max() if a.size else 0.0
        im = Image.fromarray((a * (255.0 / hi) if hi > 255 else a).astype(np.uint8), "L")
    im = im.convert(mode)
    if im.size != (size[1], size[0]):
        im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    a = np.asarray(im, dtype=np.float32)
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
