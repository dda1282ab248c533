"""The `trailbook` command line.

    trailbook demo       generate the demo organisation's CloudTrail and IAM snapshot
    trailbook ingest     build or update the local store from CloudTrail files
    trailbook findings   run every detection on a source and print one finding per line
    trailbook queries    list the catalog, or show one query's help
    trailbook report     run notebooks headlessly into a dated, rendered, hashed run directory
    trailbook lab        start JupyterLab on the notebooks with the trailbook kernel
    trailbook athena ddl print the Athena CloudTrail table DDL with partition projection
    trailbook collect iam  collect a read-only IAM snapshot (credential report, Access Advisor, ...)
    trailbook policy     print the least-privilege IAM policy for an engine or for collection
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, NoDataError, TrailbookError, UsageError


def _add_window(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--start", required=required,
                        help="window start: ISO-8601 UTC or 'now-7d'"
                        + ("" if required else " (default: 7 days before --end)"))
    parser.add_argument("--end", required=required,
                        help="window end, exclusive"
                        + ("" if required else " (default: the end of the store's last day)"))


def _store_window(engine, days: int = 7) -> tuple[str, str]:
    """The last `days` whole UTC days that hold events, so baselines have the earlier data to learn from."""
    import datetime as dt

    from . import params as P

    first, last = engine.con.execute("SELECT min(eventtime), max(eventtime) FROM cloudtrail").fetchone()
    if first is None:
        raise NoDataError("the store holds no events; nothing to analyse")
    last_day = P.parse_timestamp(last).replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = P.parse_timestamp(first).replace(hour=0, minute=0, second=0, microsecond=0)
    end = last_day + dt.timedelta(days=1)
    start = max(first_day, end - dt.timedelta(days=days))
    return P.iso(start), P.iso(end)


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    manifest = demo.generate(Path(args.out), seed=args.seed, events=args.events, incidents=not args.no_incidents)
    print(f"demo data: {manifest.get('event_count', '?')} events, {len(manifest.get('incidents', []))} incidents "
          f"→ {Path(args.out).resolve()}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from . import sources

    prepared = sources.prepare(args.source, args.store, progress=not args.quiet)
    for line in prepared.ingest.summary():
        print(line, file=sys.stderr)
    return EXIT_OK


def cmd_findings(args: argparse.Namespace) -> int:
    import datetime as dt

    from . import findings as F
    from . import params as P
    from . import sources
    from .engines.local import LocalEngine
    from .session import Session

    # Check the window before any (possibly long) ingest.
    given = {k: P.parse_timestamp(v, k) for k, v in (("start", args.start), ("end", args.end)) if v}
    if len(given) == 2 and not given["start"] < given["end"]:
        raise P.ParameterError(f"start {P.iso(given['start'])} is not before end {P.iso(given['end'])}")
    prepared = sources.prepare(args.source, args.store, progress=not args.quiet)
    if not args.quiet:
        for line in prepared.ingest.summary():
            print(line, file=sys.stderr)
    engine = LocalEngine(store=prepared.store)
    start, end = args.start, args.end
    if start is None or end is None:
        default_start, default_end = _store_window(engine)
        end = end or default_end
        start = start or P.iso(P.parse_timestamp(end) - dt.timedelta(days=7)) if args.end else start or default_start
    session = Session(engine, start=start, end=end, prepared=prepared)
    frame = session.detect(args.detections or None)
    out: Any = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        count = F.write_csv(frame, out) if args.format == "csv" else F.write_jsonl(frame, out)
    finally:
        if args.out:
            out.close()
    counts = F.counts_by_severity(frame)
    print(f"{count} findings ({', '.join(f'{n} {s}' for s, n in counts.items() if n) or 'none'}) "
          f"from {len(session.evidence)} detections, "
          f"window {session.start:%Y-%m-%dT%H:%MZ} → {session.end:%Y-%m-%dT%H:%MZ}",
          file=sys.stderr)
    return EXIT_OK


def cmd_queries(args: argparse.Namespace) -> int:
    from .catalog import load_catalog

    catalog = load_catalog()
    if args.name:
        if args.name not in catalog:
            print(f"trailbook: no query named {args.name!r}", file=sys.stderr)
            return EXIT_USAGE
        print(catalog[args.name].help())
        return EXIT_OK
    width = max(len(n) for n in catalog)
    for name, query in sorted(catalog.items()):
        print(f"{name:<{width}}  {query.kind:<9}  {query.severity:<8}  {query.title}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from . import reports

    try:
        result = reports.run_report(
            "all" if not args.notebooks or args.notebooks == ["all"] else args.notebooks,
            engine=args.engine,
            start=args.start,
            end=args.end,
            params=_key_values(args.param),
            params_file=args.params,
            out_dir=Path(args.out),
            fail_on=args.fail_on,
            redact=args.redact,
            jobs=args.jobs,
            cell_timeout=args.cell_timeout,
            progress=not args.quiet,
        )
    except reports.ReportUsageError as exc:
        print(f"trailbook: {exc}", file=sys.stderr)
        return exc.exit_code
    for notebook in result.notebooks:
        print(f"  {notebook.name}: {notebook.status}", file=sys.stderr)
    print(f"report index: {result.index_path}")
    return result.exit_code


def _key_values(pairs: Sequence[str] | None) -> dict[str, str]:
    values = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"-p expects NAME=VALUE, got {pair!r}")
        name, value = pair.split("=", 1)
        values[name.strip()] = value
    return values


def cmd_lab(args: argparse.Namespace) -> int:
    from . import lab

    return lab.run_lab(port=args.port, open_browser=not args.no_browser)


def cmd_athena_ddl(args: argparse.Namespace) -> int:
    from . import ddl

    print(ddl.cloudtrail_table_ddl(
        bucket=args.bucket, prefix=args.prefix, table=args.table, database=args.database,
        accounts=args.accounts, regions=args.regions, org_id=args.org_id, start_date=args.start_date,
    ))
    return EXIT_OK


def cmd_collect_iam(args: argparse.Namespace) -> int:
    import boto3

    from .iam import collect

    session = boto3.Session(profile_name=args.profile) if args.profile else None
    path = collect.collect_snapshot(
        Path(args.out), session=session, accounts=args.accounts or None, role_name=args.role_name,
        regions=args.regions or None,
    )
    print(f"IAM snapshot: {path}")
    return EXIT_OK


def cmd_policy(args: argparse.Namespace) -> int:
    import json

    from .aws import required_iam_policy

    scope = {k: v for k, v in {"region": args.region, "account_id": args.account_id,
                               "work_group": args.work_group, "database": args.database, "table": args.table,
                               "cloudtrail_bucket": args.cloudtrail_bucket, "results_bucket": args.results_bucket,
                               "event_data_store": args.event_data_store, "role_name": args.role_name}.items() if v}
    document = required_iam_policy(args.what, **scope)
    print(json.dumps(document, indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from . import engines

    parser = argparse.ArgumentParser(prog="trailbook", description="Security analytics over AWS CloudTrail.")
    parser.add_argument("--version", action="version", version=f"trailbook {__import__('trailbook').__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="generate the demo organisation's CloudTrail and IAM snapshot")
    p.add_argument("--out", default="demo", help="output folder (default: ./demo)")
    p.add_argument("--events", type=int, default=40_000, help="background events (default 40000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-incidents", action="store_true", help="normal background only")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="build or update the local store from CloudTrail files")
    p.add_argument("source", help="folder, file or glob of CloudTrail files, or 'demo'")
    p.add_argument("--store", help="store folder (default: one per source under $TRAILBOOK_HOME, ~/.cache/trailbook)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("findings", help="run every detection on a source; one finding per line")
    p.add_argument("--source", required=True,
                   help="folder, file or glob of CloudTrail files (ingested as needed), or 'demo'")
    p.add_argument("--store", help="store folder (default: one per source under $TRAILBOOK_HOME, ~/.cache/trailbook)")
    _add_window(p)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--out", help="write here instead of standard output")
    p.add_argument("--detection", dest="detections", action="append", help="run only this detection (repeatable)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_findings)

    p = sub.add_parser("queries", help="list the query catalog, or show one query")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_queries)

    p = sub.add_parser("report", help="run notebooks headlessly into a rendered, hashed run directory")
    p.add_argument("--notebooks", nargs="+", help="notebook names, or 'all' (default)")
    p.add_argument("--engine", default="local", choices=engines.names())
    _add_window(p, required=True)
    p.add_argument("--params", help="YAML or JSON file of notebook parameters")
    p.add_argument("-p", "--param", action="append", help="one parameter, NAME=VALUE (repeatable)")
    p.add_argument("--out", default="reports", help="folder that receives the dated run directory")
    p.add_argument("--fail-on", choices=("info", "low", "medium", "high", "critical"),
                   help="exit with the findings code when findings at or above this severity exist")
    p.add_argument("--redact", action="store_true", help="mask account ids, IPs and key ids in every output")
    p.add_argument("--jobs", type=int, help="notebooks run at once (default: cores)")
    p.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell (default 600)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("lab", help="start JupyterLab on the notebooks with the trailbook kernel")
    p.add_argument("--port", type=int, help="port (default: Jupyter chooses a free one)")
    p.add_argument("--no-browser", action="store_true")
    p.set_defaults(func=cmd_lab)

    athena = sub.add_parser("athena", help="Athena helpers").add_subparsers(dest="athena_command", required=True)
    p = athena.add_parser("ddl", help="print the CloudTrail table DDL with partition projection (not executed)")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="", help="key prefix before AWSLogs/")
    p.add_argument("--database", default="default")
    p.add_argument("--table", default="cloudtrail_logs")
    p.add_argument("--accounts", nargs="+", required=True)
    p.add_argument("--regions", nargs="+", required=True)
    p.add_argument("--org-id", help="organization trail: AWSLogs/<org-id>/<account>/...")
    p.add_argument("--start-date", default="2020/01/01", help="first date partition, yyyy/MM/dd")
    p.set_defaults(func=cmd_athena_ddl)

    p = sub.add_parser("policy", help="print the least-privilege IAM policy trailbook needs (athena, lake, collect)")
    p.add_argument("what", choices=("athena", "lake", "collect"))
    for option in ("region", "account-id", "work-group", "database", "table", "cloudtrail-bucket", "results-bucket",
                   "event-data-store", "role-name"):
        p.add_argument(f"--{option}")
    p.set_defaults(func=cmd_policy)

    collect = sub.add_parser("collect", help="read-only collection").add_subparsers(dest="collect_command",
                                                                                     required=True)
    p = collect.add_parser("iam", help="write a dated IAM snapshot (read-only calls only)")
    p.add_argument("--out", required=True)
    p.add_argument("--accounts", nargs="+", help="accounts to collect through role assumption")
    p.add_argument("--role-name", help="read-only role to assume in each account")
    p.add_argument("--regions", nargs="+", help="regions for the GuardDuty posture check")
    p.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    p.set_defaults(func=cmd_collect_iam)
    _add_debug(parser)
    return parser


def _add_debug(parser: argparse.ArgumentParser, top: bool = True) -> None:
    """`--debug` anywhere on the command line: show tracebacks instead of one-line errors."""
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="show the traceback of an error instead of one line")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_debug(child, top=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Every error a user can cause is one line on stderr and its exit code
    (`trailbook.errors`); `--debug` shows the traceback instead."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TrailbookError as exc:
        return _fail(args, exc, exc.exit_code)
    except BrokenPipeError:
        # The reader (e.g. `| head`) closed the pipe: not an error worth a traceback.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stdout for good
        except OSError:
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        print("trailbook: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a permission, a path that is not what it should be
        return _fail(args, exc, EXIT_FAILED)
    except Exception as exc:  # a bug: still one line, with the way to see more
        return _fail(args, exc, EXIT_FAILED, internal=True)


def _fail(args: argparse.Namespace, exc: BaseException, code: int, internal: bool = False) -> int:
    if getattr(args, "debug", False):
        raise exc
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{text}: {exc.filename}"
    prefix = f"internal error ({type(exc).__name__}): " if internal else ""
    hint = " (rerun with --debug for the traceback)" if internal else ""
    print(f"trailbook: {prefix}{' '.join(text.split())}{hint}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
