"""Writing a batch: one Parquet file per partition, in folders named like CloudTrail's S3 layout.

    <store>/cloudtrail/<account>/<region>/<yyyy>/<mm>/<dd>/<batch>-<n>.parquet

A file stays invisible to readers until its batch is committed in the bookkeeping database.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import tuning
from .book import DATA_DIR
from .scan import STORED, Output


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


def write_parts(output: Output, store_dir: Path, batch_id: str) -> list[dict]:
    """One Parquet file per partition; what was written, for the commit."""
    written = []
    for number, (key, slices) in enumerate(sorted(output.groups.items())):
        account, region, day = key
        table = pa.Table.from_batches(slices).select(STORED)
        relative = partition_folder(account, region, day) / f"{batch_id}-{number}.parquet"
        target = store_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target, row_group_size=tuning.ROW_GROUP_ROWS, **parquet_options())
        bounds = pc.min_max(table.column("eventtime"))
        written.append({"path": relative.as_posix(), "account": account, "region": region, "day": day,
                        "rows": table.num_rows, "lo": bounds["min"].as_py(), "hi": bounds["max"].as_py(),
                        "file": str(target)})
    return written
