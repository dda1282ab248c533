"""Read every shape CloudTrail events come in, and say exactly what could not be read.

Shapes (one per file, or per line for JSON Lines):

- ``records``: S3 delivery files ``{"Records": [...]}`` (``.json`` or ``.json.gz``), in
  ``AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/``; compact or pretty-printed.
- ``array``: a JSON array of events (Stratus Red Team detonation logs).
- ``event``: newline-delimited events, including Logstash output, where ``@timestamp`` stands in
  for ``eventTime`` (both Logstash keys are dropped).
- ``lookup-events``: ``aws cloudtrail lookup-events`` output, each event a JSON string under
  ``Events[].CloudTrailEvent``.
- ``wrapped``: JSON Lines whose event sits under ``event`` or ``log`` (the awsdocs, Panther and
  TrailDiscover extracts used as test data).
- ``digest``: ``CloudTrail-Digest`` files, skipped and counted.

A file that cannot be read (corrupt gzip, truncated or empty JSON, JSON that is not CloudTrail) is
reported with a reason and never raises. A record that is not an object, lacks ``eventName`` or
``eventTime``, has an eventTime that is not a real time in range (``times``), does not fit the
table schema, or is nested too deeply to store, is a bad record of its file: named with its place
and reason, counted, and the file's other records still load. Invalid UTF-8 is replaced with
U+FFFD and the record loads; the file's ``notes`` say how many were repaired (``files``).

Records come out canonical: top-level keys in CloudTrail's camelCase, ``eventTime`` as
``YYYY-MM-DDTHH:MM:SSZ`` (UTC), nested blobs untouched (so ``Host`` and ``host`` both survive),
and an eventID on every record: a record without one gets its content id (``records``).

Modules: ``find`` (files of a source, S3 path parts), ``files`` (one file's bytes to records),
``shapes`` (the document shapes), ``records`` (one canonical record, content ids), ``times``
(eventTime), ``results`` (what reading gives).
"""

from __future__ import annotations

from .files import load, read_bytes, read_file
from .find import (
    JSON_SUFFIXES,
    PATH_ACCOUNT_RE,
    PATH_REGION_RE,
    Source,
    discover,
    is_digest_path,
    path_partitions,
)
from .records import CONTENT_ID_PREFIX, content_id, normalise_record
from .results import MAX_REASONS, BadRecord, Discovered, FileRead, LoadResult
from .times import (
    CANONICAL_TIME_RE,
    EARLIEST_EVENT_TIME,
    FUTURE_SLACK,
    latest_event_time,
    normalise_event_time,
)

__all__ = [
    "CANONICAL_TIME_RE", "CONTENT_ID_PREFIX", "EARLIEST_EVENT_TIME", "FUTURE_SLACK", "JSON_SUFFIXES",
    "MAX_REASONS", "PATH_ACCOUNT_RE", "PATH_REGION_RE", "BadRecord", "Discovered", "FileRead",
    "LoadResult", "Source", "content_id", "discover", "is_digest_path", "latest_event_time", "load",
    "normalise_event_time", "normalise_record", "path_partitions", "read_bytes", "read_file",
]
