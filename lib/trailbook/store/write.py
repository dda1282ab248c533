"""Writing a batch: one Parquet file per partition, in folders named like CloudTrail's S3 layout.

    <store>/cloudtrail/<account>/<region>/<yyyy>/<mm>/<dd>/<batch>-<n>.parquet

An account's day with many small partitions in the batch (an organization trail's quiet regions)
is written rolled up at once, as compaction would roll it up (``tuning.ROLLUP_PARTITIONS``): one
file under ``<account>/_regions/<day>/``, in region order, recorded under region ``book.ROLLED_UP``.
Writing a Parquet file costs milliseconds whatever it holds, so this spares a file per region and
the roll-up's rewrite of them all. Once a day has a rolled-up file, its later small partitions (the
rest of a day a batch ended in, files delivered late) are written as another file beside it.

A file stays invisible to readers until its batch is committed in the bookkeeping database.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import tuning
from .book import DATA_DIR, ROLLED_UP, ROLLED_UP_FOLDER
from .scan import STORED, Output, Partition


def _folder_name(value: str) -> str:
    text = "".join(c if c.isalnum() or c in "-_." else "_" for c in value)
    return text if text.strip("._") else "unknown"


def partition_folder(account: str, region: str, day: str) -> Path:
    """A partition's folder, relative to the store."""
    days = day.split("/") if re.fullmatch(r"\d{4}/\d{2}/\d{2}", day) else ["unknown"]
    return Path(DATA_DIR, _folder_name(account), _folder_name(region), *days)


def parquet_options() -> dict:
    """The Parquet writer's options, shared by ingest and compaction."""
    return {"compression": tuning.PARQUET_COMPRESSION, "use_dictionary": tuning.DICTIONARY_COLUMNS,
            "write_statistics": tuning.STATISTICS_COLUMNS}


def layout(sizes: dict[Partition, int],
           rolled_days: Collection[tuple[str, str]] = ()) -> dict[Partition, list[Partition]]:
    """Each file to write, keyed by its partition, with the batch partitions it holds in order: a
    partition alone, or the small partitions (fewer than ROLLUP_ROWS rows) of an account's day
    under (account, ROLLED_UP, day) when there are at least ROLLUP_PARTITIONS of them or the day
    already has a rolled-up file (``rolled_days``: (account, day); a batch that ends mid-day, or
    files delivered late). An unknown region or day stays apart, as in `compaction`."""
    small: dict[tuple[str, str], list[Partition]] = {}
    for key, rows in sizes.items():
        account, region, day = key
        if region and day and region != ROLLED_UP and rows < tuning.ROLLUP_ROWS:
            small.setdefault((account, day), []).append(key)
    files: dict[Partition, list[Partition]] = {}
    rolled = set()
    for (account, day), keys in small.items():
        if len(keys) >= tuning.ROLLUP_PARTITIONS or (account, day) in rolled_days:
            files[(account, ROLLED_UP, day)] = sorted(keys)
            rolled.update(keys)
    for key in sizes:
        if key not in rolled:
            files[key] = [key]
    return dict(sorted(files.items()))


def write_parts(output: Output, store_dir: Path, batch_id: str,
                rolled_days: Collection[tuple[str, str]] = ()) -> list[dict]:
    """One Parquet file per partition, or per rolled-up day (`layout`); what was written, for
    the commit."""
    sizes = {key: sum(piece.num_rows for piece in pieces) for key, pieces in output.groups.items()}
    written = []
    for number, (key, members) in enumerate(layout(sizes, rolled_days).items()):
        account, region, day = key
        table = pa.Table.from_batches([piece for member in members for piece in output.groups[member]]).select(STORED)
        folder = partition_folder(account, ROLLED_UP_FOLDER if region == ROLLED_UP else region, day)
        relative = folder / f"{batch_id}-{number}.parquet"
        target = store_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target, row_group_size=tuning.ROW_GROUP_ROWS, **parquet_options())
        bounds = pc.min_max(table.column("eventtime"))
        written.append({"path": relative.as_posix(), "account": account, "region": region, "day": day,
                        "rows": table.num_rows, "lo": bounds["min"].as_py(), "hi": bounds["max"].as_py(),
                        "file": str(target), "regions": sorted({member[1] for member in members})})
    return written
