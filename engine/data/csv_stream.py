"""A CSV file larger than the memory budget: one pass notes where each row starts and reads
its target cells; feature cells are parsed when a batch needs the row (engine.data.lazy).

Streaming needs one record per line (no line breaks inside quoted cells); a text column
(tokenized inputs) needs the whole file and is refused.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .base import DataError, RawData
from .csv_file import _csv_columns, _csv_target, _csv_targets, _sniff, csv_delimiter
from .files import open_data
from .lazy import CsvSamples, LazyView


def streamed_csv(path: Path, config: dict, budget: float) -> RawData:
    if config.get("text_column") is not None:
        raise DataError(f"{path.name} is streamed from disk: a text column needs the whole "
                        "file in memory (raise 'memory_budget_mb' or set 'stream' to false)")
    if config.get("window"):
        raise DataError(f"{path.name} is streamed from disk: time-series windows need it in "
                        "memory (raise 'memory_budget_mb' or set 'stream' to false)")
    with open_data(path, path.name) as f:
        head = f.read(8192).decode("utf-8-sig", errors="replace")
    delimiter = csv_delimiter(config) or _sniff(head)
    header, offsets, lines, target_rows, target_cols = _index(path, config, delimiter)
    features = _csv_columns(header, config["features"], path.name, "features") \
        if config.get("features") is not None else \
        [i for i in range(len(header)) if i not in target_cols]
    if not features:
        raise DataError(f"{path.name}: no feature columns are left besides the target")
    targets = {header[c]: _csv_target(target_rows, c, header[c], path.name, config)
               for c in target_cols}
    samples = CsvSamples(path, offsets, lines, features, [header[c] for c in features],
                         delimiter)
    desc = (f"{path.name}: {len(offsets)} rows, {len(features)} features, target "
            f"{', '.join(repr(header[c]) for c in target_cols) or 'the input'}, streamed "
            "from disk")
    default = header[target_cols[0]] if target_cols else "input"
    return RawData(LazyView(samples), targets, default_target=default, description=desc)


def _index(path: Path, config: dict, delimiter: str):
    """Header, row offsets and line numbers, and each row's target cells."""
    header, target_cols = None, []
    offsets, lines, target_rows = [], [], []
    pos = 0
    with open_data(path, path.name) as f:
        for number, raw in enumerate(f, start=1):
            start, pos = pos, pos + len(raw)
            try:
                text = raw.decode("utf-8-sig" if start == 0 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path.name}, row {number} is not UTF-8 text (byte "
                                f"{start + exc.start} is invalid)") from None
            if not text.strip():
                continue
            try:
                cells = next(csv.reader([text], delimiter=delimiter))
            except csv.Error as exc:
                raise DataError(f"{path.name}, row {number}: {exc}") from None
            if header is None:
                header = [c.strip() for c in cells] if config.get("header", True) else \
                    [str(i) for i in range(len(cells))]
                target_cols = _csv_targets(header, config, path.name)
                if config.get("header", True):
                    continue
            if len(cells) != len(header):
                raise DataError(f"{path.name}, row {number} has {len(cells)} cells; the "
                                f"header has {len(header)}")
            offsets.append(start)
            lines.append(number)
            target_rows.append((number, {c: cells[c] for c in target_cols}))
    if header is None or not offsets:
        raise DataError(f"{path.name} has no data rows")
    return (header, np.array(offsets, np.int64), np.array(lines, np.int64), target_rows,
            target_cols)


__all__ = ["streamed_csv"]
