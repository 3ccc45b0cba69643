"""CSV files read into memory (a file larger than the memory budget is streamed instead:
engine.data.csv_stream): feature columns as float32, target columns as classes or values, or
a text column tokenized to ids."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from ..guard.text import quote
from .base import DataError, RawData, Target, stream_mode
from .files import infer_target, open_data
from .idx import check_budget, file_size

CSV_MEMORY_FACTOR = 10     # parsed CSV cells take roughly 10x the file's bytes while loading
MAX_AUTO_CLASSES = 20      # a numeric CSV target with at most this many integer values is a label


def load_csv(path: Path, config: dict, budget: float) -> RawData:
    """Columns chosen by "features" (default: all but the targets) and "target" (default:
    the last column) or "targets". Headers are required unless "header": false (then the
    columns are named "0", "1", ...). Rows are counted as lines in the file (header = 1)."""
    if stream_mode(config, file_size(path) * CSV_MEMORY_FACTOR, budget):
        from .csv_stream import streamed_csv
        return streamed_csv(path, config, budget)
    header, rows = _read_rows(path, config, budget)
    target_cols = _csv_targets(header, config, path.name)
    if config.get("text_column") is not None:
        return _csv_text(path, header, rows, target_cols, config, budget)
    feature_cols = _csv_columns(header, config.get("features"), path.name, "features") \
        if config.get("features") is not None else \
        [i for i in range(len(header)) if i not in target_cols]
    if not feature_cols:
        raise DataError(f"{path.name}: no feature columns are left besides the target")
    x = np.empty((len(rows), len(feature_cols)), dtype=np.float32)
    for r, (line, cells) in enumerate(rows):
        for c, col in enumerate(feature_cols):
            x[r, c] = _number(cells[col], path.name, line, header[col])
    targets = {header[col]: _csv_target(rows, col, header[col], path.name, config)
               for col in target_cols}
    desc = (f"{path.name}: {len(rows)} rows, {len(feature_cols)} features, target "
            f"{', '.join(repr(header[c]) for c in target_cols) or 'the input'}")
    default = header[target_cols[0]] if target_cols else "input"
    return RawData(x, targets, default_target=default, description=desc)


def _csv_text(path: Path, header, rows, target_cols, config: dict, budget: float) -> RawData:
    """A text column tokenized to ids (n, max_len) with a vocabulary of the file's words:
    options text_column, max_len (32), vocab_size (10000, with padding and unknown),
    min_count (1)."""
    from .text import Vocabulary

    (col,) = _csv_columns(header, [config["text_column"]], path.name, "text_column")
    if col in target_cols:
        raise DataError(f"{path.name}: the text column {quote(header[col])} is also the target; "
                        "set 'target' to the label column")
    max_len = _positive(config, "max_len", 32)
    check_budget(len(rows) * max_len * 8, budget,
                 f"{path.name}: {len(rows)} texts of max_len {max_len} token ids")
    texts = [cells[col] for _, cells in rows]
    vocab = Vocabulary.build(texts, _positive(config, "vocab_size", 10000),
                             _positive(config, "min_count", 1))
    x = vocab.encode_batch(texts, max_len)
    targets = {header[c]: _csv_target(rows, c, header[c], path.name, config)
               for c in target_cols}
    desc = (f"{path.name}: {len(rows)} texts from column {quote(header[col])}, {len(vocab)} words, "
            f"max_len {max_len}")
    return RawData(x, targets, default_target=header[target_cols[0]], vocab=vocab.words,
                   description=desc)


def _positive(config: dict, key: str, default: int) -> int:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise DataError(f"dataset option {quote(key)} must be a whole number of at least 1, found "
                        f"{quote(v)}")
    return v


def csv_delimiter(config: dict) -> str | None:
    """The dataset's 'delimiter' option (None: sniff it from the file)."""
    delimiter = config.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or
                                  delimiter in "\r\n\"" or delimiter.isalnum()):
        raise DataError(f"dataset option 'delimiter' must be one character such as ',' or "
                        f"';' (or 'auto'), found {quote(delimiter)}")
    return delimiter


def _read_rows(path: Path, config: dict, budget: float
               ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    delimiter = csv_delimiter(config)
    # parsed cells take roughly CSV_MEMORY_FACTOR times the file's bytes
    with open_data(path, path.name, budget * 2**20 / CSV_MEMORY_FACTOR) as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start} is invalid)") from None
    del data
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or _sniff(text))
    rows = []
    header = None
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                if config.get("header", True):
                    header = [c.strip() for c in cells]
                    continue
                header = [str(i) for i in range(len(cells))]
            if len(cells) != len(header):
                raise DataError(f"{path.name}, row {reader.line_num} has {len(cells)} cells; "
                                f"the header has {len(header)}")
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise DataError(f"{path.name}, row {reader.line_num}: {exc}") from None
    if header is None or not rows:
        raise DataError(f"{path.name} has no data rows")
    return header, rows


def _sniff(text: str) -> str:
    if text[:1] in ("\r", "\n") and not text.strip():
        return ","
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_columns(header: list[str], wanted, fname: str, key: str) -> list[int]:
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    if not isinstance(wanted, list):
        raise DataError(f"dataset option {quote(key)} must be a list of column names")
    cols = []
    for w in wanted:
        if isinstance(w, int) and not isinstance(w, bool) and 0 <= w < len(header):
            cols.append(w)
        elif isinstance(w, str) and w in header:
            cols.append(header.index(w))
        else:
            names = ", ".join(quote(h, 40) for h in header[:20])
            more = f" and {len(header) - 20} more" if len(header) > 20 else ""
            raise DataError(f"{fname} has no column {quote(w)}; its columns are "
                            f"{names}{more}")
    return cols


def _csv_targets(header: list[str], config: dict, fname: str) -> list[int]:
    names = config.get("targets")
    if not isinstance(names, list):
        names = [config.get("target")]
    explicit = [n for n in names if n not in (None, "label", "input")]
    if explicit:
        return _csv_columns(header, explicit, fname, "target")
    if "input" in names and "label" not in names:
        return []                      # an autoencoder: every column is a feature
    return [len(header) - 1]


def _number(cell: str, fname: str, line: int, col: str) -> float:
    s = cell.strip()
    if not s:
        raise DataError(f"{fname}, row {line}, column {quote(col)} is empty")
    try:
        v = float(s)
    except ValueError:
        raise DataError(f"{fname}, row {line}, column {quote(col)}: {quote(_clip(s))} is not a "
                        "number") from None
    if not math.isfinite(v):
        raise DataError(f"{fname}, row {line}, column {quote(col)}: {quote(_clip(s))} is not a finite "
                        "number")
    return v


def _clip(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "..."


def _csv_target(rows, col: int, name: str, fname: str, config: dict) -> Target:
    cells = [cells[col].strip() for _, cells in rows]
    for (line, _), c in zip(rows, cells):
        if not c:
            raise DataError(f"{fname}, row {line}, column {quote(name)} is empty")
    try:
        values = np.array([float(c) for c in cells])
    except ValueError:        # text labels: label-encode them
        return infer_target(np.array(cells), "classification", True)
    if not np.all(np.isfinite(values)):
        line = rows[int(np.argmax(~np.isfinite(values)))][0]
        raise DataError(f"{fname}, row {line}, column {quote(name)} is not a finite number")
    few = len(np.unique(values)) <= MAX_AUTO_CLASSES
    return infer_target(values, config.get("task"), few)
