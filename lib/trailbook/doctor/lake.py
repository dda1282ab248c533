"""`trailbook lake doctor`: is this CloudTrail Lake event data store ready for a report? Read-only,
and one test query over the last day.

Checks, in order (each one line; see `checks`):

- credentials: region, credentials, who they are (`identity`);
- store: the event data store exists (GetEventDataStore) and is ENABLED (other statuses: ingestion
  starting, stopped or stopping, pending deletion), and records events of every region;
- retention: its RetentionPeriod covers what reports read (`MIN_RETENTION_DAYS`);
- selectors: its advanced event selectors record CloudTrail management events, read and write,
  which every detection reads; a store of data events, Config items or other sources is not one
  trailbook can use;
- kms: with a KMS key, the key is enabled and its policy lets the caller use it (Lake asks for
  kms:Decrypt and kms:GenerateDataKey to query);
- query: `SELECT eventtime ... LIMIT 1` over the last 24 hours through the lake engine, reporting
  the bytes it scanned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..engines import settings as S
from ..engines.base import EngineError
from ..errors import UsageError
from .checks import FAIL, PASS, WARN, Report, refused
from .identity import Caller, identify
from .keys import check_key

POLICY = "trailbook policy lake"
# Reports read a window (90 days at most by default, `trailbook findings`) and detections learn
# baselines from the 14 days before it: a shorter retention leaves them blind.
MIN_RETENTION_DAYS = 90 + 14
_STATUS_FIX = {
    "CREATED": "start ingestion on the event data store (StartEventDataStoreIngestion)",
    "STARTING_INGESTION": "wait for ingestion to start, then run the doctor again",
    "STOPPING_INGESTION": "start ingestion again (StartEventDataStoreIngestion): events since it stopped are missing",
    "STOPPED_INGESTION": "start ingestion again (StartEventDataStoreIngestion): events since it stopped are missing",
    "PENDING_DELETION": "restore it (RestoreEventDataStore) before its 7-day wait ends",
}


def diagnose(*, session: Any = None, now: dt.datetime | None = None, **options: Any) -> Report:
    """Run every check. `options` are lake engine settings (`config_file`, `region`, `event_data_store`...)."""
    report = Report("lake")
    settings = S.resolve("lake", options)
    if not settings["event_data_store"]:
        raise UsageError("lake doctor needs event_data_store (id or ARN): set it in the config file's lake "
                         "section, with --event-data-store, or in TRAILBOOK_LAKE_EVENT_DATA_STORE")
    caller = identify(report, "lake", settings, session)
    if caller is None:
        for name in ("store", "retention", "selectors", "kms", "query"):
            report.skip(name, "needs credentials")
        return report
    store = _store(report, caller, settings["event_data_store"])
    if store is None:
        for name in ("retention", "selectors", "kms", "query"):
            report.skip(name, "needs the event data store")
        return report
    _retention(report, store)
    _selectors(report, store)
    if store.get("KmsKeyId"):
        check_key(report, caller.session.client("kms"), store["KmsKeyId"], caller.arn, caller.account,
                  ("kms:Decrypt", "kms:GenerateDataKey"), f"event data store {store.get('Name')}", POLICY)
    else:
        report.add("kms", PASS, "the event data store uses CloudTrail's own encryption (no KMS key to use)")
    _query(report, caller, options, now or dt.datetime.now(dt.timezone.utc))
    return report


def _store(report: Report, caller: Caller, given: str) -> dict[str, Any] | None:
    client = caller.session.client("cloudtrail")
    try:
        store = client.get_event_data_store(EventDataStore=given)
    except (client.exceptions.EventDataStoreNotFoundException, client.exceptions.EventDataStoreARNInvalidException):
        report.add("store", FAIL, f"event data store {given} was not found in region {caller.region}",
                   "check its id or ARN and the region (Lake is regional); `aws cloudtrail list-event-data-stores`")
        return None
    except (ClientError, BotoCoreError) as error:
        detail, fix = refused(error, "cloudtrail:GetEventDataStore", POLICY)
        report.add("store", FAIL, detail, fix)
        return None
    name, status = store.get("Name") or given, store.get("Status")
    if status != "ENABLED":
        report.add("store", FAIL if status != "STARTING_INGESTION" else WARN,
                   f"event data store {name} is {status}: it does not record new events",
                   _STATUS_FIX.get(status or "", "make the event data store ENABLED"))
    elif store.get("MultiRegionEnabled") is False:
        report.add("store", WARN, f"event data store {name} is enabled but records only region {caller.region}: "
                   "activity in other regions is invisible", "enable multi-region on the event data store")
    else:
        scope = "every region" + (", the whole organization" if store.get("OrganizationEnabled") else "")
        report.add("store", PASS, f"event data store {name} is enabled, records {scope}")
    return store


def _retention(report: Report, store: dict[str, Any]) -> None:
    days = store.get("RetentionPeriod")
    if isinstance(days, int) and days < MIN_RETENTION_DAYS:
        report.add("retention", WARN, f"events are kept {days} days: windows and baselines older than that read "
                   "nothing", f"keep at least {MIN_RETENTION_DAYS} days (a 90-day window and its 14-day baseline)")
    else:
        report.add("retention", PASS, f"events are kept {days} days" if days else "no retention period reported")


def _fields(selector: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return {f.get("Field", ""): {k: v for k, v in f.items() if k != "Field"}
            for f in selector.get("FieldSelectors", [])}


def _selectors(report: Report, store: dict[str, Any]) -> None:
    management = []
    categories = set()
    for selector in store.get("AdvancedEventSelectors") or []:
        fields = _fields(selector)
        category = fields.get("eventCategory", {}).get("Equals", [])
        categories.update(category)
        if "Management" in category:
            management.append((selector.get("Name") or "unnamed", fields))
    if not management:
        report.add("selectors", FAIL, "the event data store records no CloudTrail management events (event "
                   f"categories: {', '.join(sorted(categories)) or 'none'}): every detection reads them",
                   "query an event data store that records management events")
        return
    limits = []
    for name, fields in management:
        found = [f"{name} records only readOnly={','.join(values)}" for values in [fields.get("readOnly", {}).get(
            "Equals")] if values] + [f"{name} filters on {key}" for key, conditions in fields.items()
                                     if key not in ("eventCategory", "readOnly") and conditions]
        if not found:
            report.add("selectors", PASS, f"selector {name} records all CloudTrail management events")
            return
        limits += found
    report.add("selectors", WARN, "management events are recorded, but " + "; ".join(limits) +
               ": detections of what is left out see nothing",
               "record all management events (read and write, every event source)")


def _query(report: Report, caller: Caller, options: dict[str, Any], now: dt.datetime) -> None:
    from ..engines.lake import LakeEngine

    start = now - dt.timedelta(days=1)
    engine = None
    try:
        engine = LakeEngine(client=caller.session.client("cloudtrail"), **options)
        parts = engine.fragments(start, now)
        frame, stats = engine.execute(f"SELECT eventtime FROM {parts['source']} WHERE {parts['time_filter']} LIMIT 1")
    except (EngineError, BotoCoreError, ClientError) as error:
        report.add("query", FAIL, f"the test query failed: {error}",
                   "see the lines above; with a KMS key, the caller needs kms:Decrypt and kms:GenerateDataKey on it")
        return
    finally:
        if engine is not None:
            engine.close()
    cost = f"{stats.bytes_scanned or 0:,} bytes scanned" + (f", ${stats.cost_usd:.6f}" if stats.cost_usd else "")
    report.found["query"] = {"query_id": stats.execution_id, "bytes_scanned": stats.bytes_scanned,
                             "cost_usd": stats.cost_usd, "rows": len(frame)}
    if len(frame):
        report.add("query", PASS, f"query {stats.execution_id} read an event of the last 24 hours ({cost})")
    else:
        report.add("query", WARN, f"query {stats.execution_id} found no event in the last 24 hours ({cost})",
                   "check that the event data store still receives events (its status and its trails or sources)")
