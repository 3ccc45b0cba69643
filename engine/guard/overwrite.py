"""The overwrite policy: no command replaces a file it did not create in this call unless
the user says --force, and never the project's own files (the project, its weights, their
previous version) as the output of another command."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from .paths import real_path
from .text import quote


class OverwriteError(ValueError):
    """Writing the output would replace a file the user did not ask to replace."""


def check_output(out: str | os.PathLike, *, force: bool = False,
                 protected: Iterable[tuple[str | os.PathLike, str]] = (),
                 what: str = "output") -> Path:
    """`out` as a Path if a command may write it. `protected`: (path, description) pairs
    that may never be the output (e.g. the project file being exported). An existing file is
    replaced only with `force`; a folder, or an output in a missing folder, is refused."""
    out = Path(out)
    shown = quote(str(out))
    real = real_path(out)
    for path, desc in protected:
        if path is not None and real_path(path) == real:
            raise OverwriteError(f"the {what} {shown} is {desc}; writing it would destroy "
                                 "it: choose another file name")
    try:
        st = os.stat(out)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OverwriteError(f"cannot write the {what} {shown}: {exc.strerror or exc}") \
            from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OverwriteError(f"the {what} {shown} is a folder; give a file name")
    if (st is not None or os.path.islink(out)) and not force:
        raise OverwriteError(f"the {what} {shown} already exists; add --force to "
                                 "replace it")
    if not out.parent.is_dir():
        raise OverwriteError(f"cannot write the {what} {shown}: the folder "
                             f"{quote(str(out.parent))} does not exist")
    return out
