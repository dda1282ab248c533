"""The `trailbook` command line.

    trailbook demo       generate the demo organisation's CloudTrail and IAM snapshot
    trailbook ingest     build or update the local store from CloudTrail files
    trailbook compact    rewrite each partition's Parquet files of a local store into one
    trailbook findings   run every detection on a source and print one finding per line
    trailbook queries    list the catalog, or show one query's help
    trailbook report     run notebooks headlessly into a dated, rendered, hashed run directory
    trailbook lab        start JupyterLab on the notebooks with the trailbook kernel
    trailbook athena ddl print the Athena CloudTrail table DDL with partition projection
    trailbook athena doctor  check an Athena setup before the first report (read-only)
    trailbook lake doctor    check a CloudTrail Lake event data store before the first report (read-only)
    trailbook collect iam  collect a read-only IAM snapshot (credential report, Access Advisor, ...)
    trailbook policy     print the least-privilege IAM policy for an engine or for collection
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, TrailbookError, UsageError


def _add_window(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--start", required=required,
                        help="window start: ISO-8601 UTC or 'now-7d'"
                        + ("" if required else " (default: 7 days before --end)"))
    parser.add_argument("--end", required=required,
                        help="window end, exclusive"
                        + ("" if required else " (default: the end of the store's last day)"))


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    if args.org_shape:  # issue 15: an organization's delivery shape, for scale benchmarks
        made = demo.generate_org(Path(args.out), seed=args.seed, events=args.events, accounts=args.org_shape,
                                 days=args.days)
        print(f"organization-shaped trail: {made['event_count']} events in {made['file_count']} files, "
              f"{args.org_shape} accounts x {len(made['regions'])} regions, {args.days} days "
              f"→ {Path(args.out).resolve()}")
        return EXIT_OK
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


def cmd_compact(args: argparse.Namespace) -> int:
    from . import store

    try:
        report = store.compact(Path(args.store).expanduser(), progress=not args.quiet)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    for line in report.summary():
        print(line, file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_findings(args: argparse.Namespace) -> int:
    from . import coverage as COV
    from . import findings as F
    from . import sources
    from .analyses import python_side as PY
    from .catalog import load_catalog
    from .engines.local import LocalEngine
    from .session import Session

    # Check the window and the output path before any (possibly long) ingest.
    given = _given_window(args.start, args.end)
    out_path = _output_file(args.out) if args.out else None
    extra = PY.open_inputs(iam_snapshot=args.iam_snapshot, geoip_db=args.geoip_db or "",
                           allowed_countries=args.allowed_countries or (), trusted_accounts=args.trusted_accounts or ())
    prepared = sources.prepare(args.source, args.store, progress=not args.quiet)
    extra = extra.with_source(prepared.iam_snapshot)
    if not args.quiet:
        for line in prepared.ingest.summary():
            print(line, file=sys.stderr)
    engine = LocalEngine(store=prepared.store)
    catalog = load_catalog()
    window = None
    if len(given) < 2:
        span = COV.measure(Session(engine, start=COV.ALL_TIME[0], end=COV.ALL_TIME[1], catalog=catalog))
        window = COV.choose_window(span, given.get("start"), given.get("end"))
        given = {"start": window.start, "end": window.end}
    session = Session(engine, start=given["start"], end=given["end"], catalog=catalog, prepared=prepared)
    cov = COV.measure(session)
    COV.require_data(cov, f"source {args.source}")  # an empty window is never clean: exit 4
    if window is not None:
        print(COV.window_line(window, cov), file=sys.stderr)
    # A window we started at the store's first day has nothing before it: baselines come from its first days.
    from_first_day = window is not None and args.start is None and not window.capped and cov.before == 0
    requested = args.detections or None
    frame, baselines = COV.detect(session, PY.catalog_detections(session, requested),
                                  baselines_inside=from_first_day)
    more, python_lines = PY.run(session, extra, requested)  # the detections that are not catalog queries
    frame = F.concat([frame, more])
    _write_findings(frame, args.format, out_path)
    counts = F.counts_by_severity(frame)
    ran = sum(1 for run in session.evidence if session.catalog[run.query].is_detection)
    print(f"{len(frame)} findings ({', '.join(f'{n} {s}' for s, n in counts.items() if n) or 'none'}) "
          f"from {ran} detections, "
          f"window {session.start:%Y-%m-%dT%H:%MZ} → {session.end:%Y-%m-%dT%H:%MZ}",
          file=sys.stderr)
    for line in baselines + python_lines:
        print(line, file=sys.stderr)
    if args.fail_on and not F.at_least(frame, args.fail_on).empty:
        return EXIT_FINDINGS
    return EXIT_OK


# --start/--end must fall in this range: room for baselines before and slack after, in 4-digit years.
WINDOW_RANGE = (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc))


def _given_window(start: str | None, end: str | None) -> dict[str, Any]:
    """--start/--end as UTC times, checked (in range, start before end) before anything runs."""
    from . import params as P

    given = {}
    for name, text in (("start", start), ("end", end)):
        if not text:
            continue
        try:
            value = P.parse_timestamp(text, name)
        except OverflowError:  # an offset or a relative time past year 1 or 9999
            value = None
        if value is None or not WINDOW_RANGE[0] <= value < WINDOW_RANGE[1]:
            raise P.ParameterError(f"{name}: {text!r} is out of range ({WINDOW_RANGE[0]:%Y-%m-%d} "
                                   f"to {WINDOW_RANGE[1] - dt.timedelta(days=1):%Y-%m-%d})")
        given[name] = value
    if len(given) == 2 and not given["start"] < given["end"]:
        raise P.ParameterError(f"start {P.iso(given['start'])} is not before end {P.iso(given['end'])}")
    return given


def _output_file(path: str) -> Path:
    """A regular file we can write (new or existing), checked before anything runs."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise UsageError(f"--out {path} is a folder; name a file")
    if target.exists() and not target.is_file():
        raise UsageError(f"--out {path} is not a regular file (a device or pipe?); name a file")
    parent = target.parent if str(target.parent) else Path(".")
    probe = _partial(target)  # writability is what the filesystem says, not the mode bits (root, read-only mounts)
    try:
        parent.mkdir(parents=True, exist_ok=True)  # like `report --out`: a new folder is made
        with open(probe, "w", encoding="utf-8"):
            pass
        probe.unlink()
        if target.exists() and not os.access(target, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write there ({exc.strerror or exc})") from None
    return target


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


def _write_findings(frame: Any, fmt: str, out_path: Path | None) -> int:
    """Write to a temporary file renamed into place, so a failed write (a full disk) leaves no half file."""
    from . import findings as F

    write = F.write_csv if fmt == "csv" else F.write_jsonl
    if out_path is None:
        stdout: Any = sys.stdout  # a TextIO; the writers take any text stream
        return write(frame, stdout)
    if out_path.exists() and not out_path.is_file():  # checked again: never rename over a device or pipe
        raise UsageError(f"--out {out_path} is not a regular file")
    partial = _partial(out_path)
    try:
        with open(partial, "w", encoding="utf-8") as out:
            count = write(frame, out)
        os.replace(partial, out_path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise TrailbookError(f"could not write {out_path}: {exc.strerror or exc}") from exc
    return count


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


# `report --one-scan` turns the setting on for every notebook's engine through the environment, the
# settings' lowest layer (a config file's own `one_scan:` wins), which the notebooks' kernels inherit.
ONE_SCAN_ENV = "TRAILBOOK_ATHENA_ONE_SCAN"


def cmd_report(args: argparse.Namespace) -> int:
    from . import reports

    notebooks = "all" if not args.notebooks or args.notebooks == ["all"] else args.notebooks
    for flag, given in (("--estimate", args.estimate), ("--one-scan", args.one_scan)):
        if given and args.engine != "athena":
            raise UsageError(f"{flag} is for --engine athena, not {args.engine}")
    if args.trail_bucket and not args.estimate:
        raise UsageError("--trail-bucket is for --estimate")
    if args.estimate:
        return _report_estimate(args, notebooks)
    previous = os.environ.get(ONE_SCAN_ENV)
    if args.one_scan:
        for line in _one_scan_notice(args):
            print(f"trailbook: {line.strip()}", file=sys.stderr)
        os.environ[ONE_SCAN_ENV] = "true"
    try:
        # A ReportUsageError (exit 2) goes to main(), which prints it as one line.
        result = reports.run_report(
            notebooks,
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
            pdf=args.pdf,
        )
    finally:
        if args.one_scan:
            if previous is None:
                os.environ.pop(ONE_SCAN_ENV, None)
            else:
                os.environ[ONE_SCAN_ENV] = previous
    _print_run_summary(result, args.fail_on)
    print(f"report index: {result.index_path}")
    return result.exit_code


def _one_scan_notice(args: argparse.Namespace) -> list[str]:
    """The permissions one-scan needs, for the database and results bucket of the report's config when
    it names them (`*` otherwise)."""
    from .aws.policy import one_scan_notice
    from .engines import settings as S
    from .engines.one_scan import split_s3

    config = _key_values(args.param).get("config")
    try:
        settings = S.resolve("athena", {"config_file": str(Path(config).expanduser())} if config else {})
    except UsageError:
        settings = {}  # the report itself says what is wrong with the config, in its own words
    try:
        bucket = split_s3(str(settings.get("s3_staging_dir") or ""))[0]
    except ValueError:
        bucket = "*"
    return one_scan_notice(region=settings.get("region") or "*", database=settings.get("database") or "*",
                           results_bucket=bucket or "*")


def _report_estimate(args: argparse.Namespace, notebooks: Any) -> int:
    """`report --estimate`: the report's queries priced from the trail's object listing. Nothing runs."""
    from botocore.exceptions import BotoCoreError, ClientError

    from . import aws, ddl
    from . import estimate as E
    from . import params as P
    from .engines import settings as S
    from .reports.plan import plan_report

    if not args.trail_bucket:
        raise UsageError("report --estimate needs --trail-bucket, the trail's bucket or s3://bucket/prefix")
    bucket, prefix = _s3_location(args.trail_bucket, "")
    try:
        location = E.Location.parse(ddl.logs_location(bucket, prefix, args.org_id))
    except ddl.DdlError as exc:
        raise UsageError(f"report --estimate: {exc}") from exc
    plan = plan_report(notebooks, engine=args.engine, start=args.start, end=args.end, params=_key_values(args.param),
                       params_file=args.params, fail_on=args.fail_on, cell_timeout=args.cell_timeout, jobs=args.jobs)
    start, end = P.parse_timestamp(plan.start, "start"), P.parse_timestamp(plan.end, "end")
    planned, notes = _report_queries(plan, start, end)
    config = next((str(nb.parameters["config"]) for nb in plan.notebooks if nb.parameters.get("config")), None)
    settings = S.resolve("athena", {"config_file": config} if config else {})
    client = aws.session("athena", region=settings["region"], profile=settings["profile"]).client("s3")
    # List every account (region) folder unless each notebook names its accounts (regions).
    accounts = sorted({a for p in planned for a in p.accounts}) if all(p.accounts for p in planned) else []
    regions = sorted({r for p in planned for r in p.regions}) if all(p.regions for p in planned) else []
    scopes = {(p.accounts, p.regions) for p in planned}
    try:
        rows, sizes, days = E.estimate_planned(
            planned, lambda wanted: E.list_days(client, location, wanted, accounts, regions))
    except (BotoCoreError, ClientError) as exc:  # no credentials, access denied, no such bucket
        raise TrailbookError(f"report --estimate: cannot list s3://{location.bucket}/{location.prefix}: "
                             f"{exc}") from None
    one_scope = next(iter(scopes)) if len(scopes) == 1 else ((), ())
    for line in notes:
        print(line)
    for line in E.run_lines(rows, sizes, days, accounts=one_scope[0], regions=one_scope[1]):
        print(line)
    return EXIT_OK


def _report_queries(plan: Any, start: dt.datetime, end: dt.datetime) -> tuple[list[Any], list[str]]:
    """The catalog queries a report on Athena sends, each with how many notebooks send it. A notebook that
    builds the window's incidents (its code calls `story(`) runs every detection; another runs the queries
    tagged with its name, or, when none is, is counted as running every detection (an upper bound). Before
    the notebooks, the report measures each scope's coverage once."""
    import json

    from . import coverage
    from . import estimate as E
    from . import params as P
    from .catalog import load_catalog

    catalog = load_catalog()
    on_athena = {name: q for name, q in sorted(catalog.items()) if "athena" in q.engines}
    detections = [name for name, q in on_athena.items() if q.is_detection]
    sent: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
    notes = []
    for nb in plan.notebooks:
        cells = json.loads(nb.path.read_text(encoding="utf-8")).get("cells", [])
        code = "".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
        own = [name for name, q in on_athena.items() if nb.name in q.tags]
        if "story(" in code:
            names, why = detections, "every detection (it builds the window's incidents)"
        elif own:
            names, why = own, f"the {len(own)} queries tagged {nb.name}"
        else:
            names, why = detections, "every detection (no query is tagged with its name: an upper bound)"
        notes.append(f"{nb.name}: {why}")
        scope = (tuple(P.coerce("list[account_id]", nb.parameters.get("accounts") or (), "accounts")),
                 tuple(P.coerce("list[region]", nb.parameters.get("regions") or (), "regions")))
        measured = (coverage.QUERY, *scope) in sent  # once per scope, before the notebooks
        for name in names + ([] if measured else [coverage.QUERY]):
            sent.setdefault((name, *scope), []).append(nb.name)
    planned = []
    for (name, accounts, regions), by in sent.items():
        query = catalog[name]
        values = E.window_values(query, start, end)
        if name == coverage.QUERY:  # the report reads the window's coverage (`reports.scope`)
            values.update(scan_start=start, scan_end=end)
        planned.append(E.Planned(query, values, runs=len(by), by=tuple(by), accounts=accounts, regions=regions))
    notes.append("the report measures each scope's coverage once before the notebooks (query coverage); a notebook's "
                 "queries that depend on what it finds (one key's activity) are not predicted")
    return planned, notes


def _print_run_summary(result: Any, fail_on: str | None) -> None:
    """What happened, on stderr for whoever reads the terminal or the cron mail: each notebook's status
    (a failed one with its one-line reason and the page that shows it), findings by severity, the PDFs,
    and the most severe incidents. Values from events or errors are shown with control characters escaped."""
    from .findings import counts_by_severity
    from .store.report import one_line

    for notebook in result.notebooks:
        line = f"  {notebook.name}: {notebook.status}"
        if notebook.status == "no data":
            line += " (0 events in the window and scope: not a clean result; check the source and the window)"
        elif notebook.error:
            reason = one_line(" ".join(f"{notebook.error['ename']}: {notebook.error['evalue']}".split()))
            line += f" ({reason[:300]}{'…' if len(reason) > 300 else ''})"
            if notebook.html and result.run_dir:
                line += f"; error page: {result.run_dir / notebook.html}"
        print(line, file=sys.stderr)
    counts = counts_by_severity(result.findings)
    shown = ", ".join(f"{n} {severity}" for severity, n in counts.items() if n)
    print(f"  findings: {len(result.findings)}" + (f" ({shown})" if shown else ""), file=sys.stderr)
    if fail_on:
        from .findings import at_least

        over = len(at_least(result.findings, fail_on)) if len(result.findings) else 0
        print(f"  at or above --fail-on {fail_on}: {over}", file=sys.stderr)
    credential = len(result.findings[result.findings["detection"].eq("credential_material_in_cloudtrail")])
    if credential:
        print(f"  credential material in CloudTrail: {credential} field(s), masked, reported as critical findings",
              file=sys.stderr)
    _print_pdfs(result.manifest_path)
    _print_incidents(result.run_dir)


def _print_pdfs(manifest_path: Path | None) -> None:
    import json

    from .store.report import one_line

    if not manifest_path or not manifest_path.is_file():
        return
    printed = json.loads(manifest_path.read_text(encoding="utf-8")).get("pdf")
    if printed:
        print(f"  PDF: {len(printed['pages'])} page(s) printed", file=sys.stderr)
        for page, reason in printed["failed"].items():
            print(f"  PDF of {page} failed: {one_line(reason)}", file=sys.stderr)


def _print_incidents(run_dir: Path | None, top: int = 3) -> None:
    """The most severe incidents, one line each, for whoever reads the terminal or the cron mail."""
    from . import incidents as I
    from .store.report import one_line  # narratives hold names from events: no control characters

    path = run_dir / "incidents.jsonl" if run_dir else None
    found = I.read_jsonl(path) if path and path.is_file() else []
    if found:
        print(f"  {len(found)} incident(s); most severe first:", file=sys.stderr)
    for inc in found[:top]:
        chain = " → ".join(step["name"] for step in inc["tactics"]) or "no mapped tactic"
        print(f"  [{inc['severity']}] {inc['id']} {inc['first_seen']}, {inc['finding_count']} findings "
              f"({chain}): {one_line(str(inc['narrative'])[:300])}", file=sys.stderr)


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

    bucket, prefix = _s3_location(args.bucket, args.prefix)
    try:
        accounts = [*args.accounts, *(ddl.accounts_from(args.accounts_from, args.org_id) if args.accounts_from else [])]
        text = ddl.cloudtrail_table_ddl(
            bucket=bucket, prefix=prefix, table=args.table, database=args.database,
            accounts=sorted(set(accounts)), regions=args.regions, org_id=args.org_id, start_date=args.start_date,
        )
    except ddl.DdlError as exc:
        raise UsageError(f"athena ddl: {exc}") from exc
    print(text)
    return EXIT_OK


def cmd_athena_estimate(args: argparse.Namespace) -> int:
    from . import aws, ddl
    from . import estimate as E
    from . import params as P
    from .catalog import load_catalog

    bucket, prefix = _s3_location(args.bucket, args.prefix)
    given = _given_window(args.start, args.end)
    accounts = P.coerce("list[account_id]", args.accounts, "accounts")
    regions = P.coerce("list[region]", args.regions, "regions")
    try:
        location = E.Location.parse(ddl.logs_location(bucket, prefix, args.org_id))
    except ddl.DdlError as exc:
        raise UsageError(f"athena estimate: {exc}") from exc
    catalog = load_catalog()
    unknown = sorted(set(args.detections or ()) - set(catalog))
    if unknown:
        raise UsageError(f"athena estimate: no detection named {', '.join(unknown)} (see `trailbook queries`)")
    chosen = [catalog[n] for n in args.detections] if args.detections else \
        [q for q in catalog.values() if q.is_detection and "athena" in q.engines]
    from botocore.exceptions import BotoCoreError, ClientError

    client = aws.session("athena", region=args.region, profile=args.profile).client("s3")
    try:
        rows, sizes, days = E.estimate(chosen, given["start"], given["end"],
                                       lambda wanted: E.list_days(client, location, wanted, accounts, regions),
                                       accounts=accounts, regions=regions)
    except (BotoCoreError, ClientError) as exc:  # no credentials, access denied, no such bucket
        raise TrailbookError(f"athena estimate: cannot list s3://{location.bucket}/{location.prefix}: {exc}") from None
    for line in E.lines(rows, sizes, days, accounts=accounts, regions=regions):
        print(line)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """`athena doctor` / `lake doctor`: one line per check (or --json); exit 1 when a check fails."""
    import json

    from .doctor import athena, lake

    given = {k: v for k, v in vars(args).items() if k in ("region", "profile", "work_group", "database", "table",
                                                           "event_data_store") and v}
    if args.config:
        given["config_file"] = args.config
    if args.engine == "athena":
        report = athena.diagnose(bucket=args.bucket, **given)
    else:
        report = lake.diagnose(**given)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print("\n".join(report.lines()))
    return report.exit_code


# S3 bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _s3_location(bucket: str, prefix: str) -> tuple[str, str]:
    """--bucket as a bucket name or an s3://bucket/prefix URI, checked before anything is printed."""
    given = bucket.strip()
    if given.startswith("s3://"):
        name, _, path = given[len("s3://"):].partition("/")
        if path and prefix:
            raise UsageError(f"--bucket {bucket} already holds a prefix; leave out --prefix")
        prefix = prefix or path
    elif "://" in given or "/" in given:
        raise UsageError(f"--bucket {bucket!r} is not a bucket name or an s3://bucket/prefix URI")
    else:
        name = given
    if not _BUCKET.match(name) or ".." in name or re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        raise UsageError(f"--bucket {bucket!r}: {name!r} is not a valid S3 bucket name "
                         "(3-63 lower-case letters, digits, dots and hyphens)")
    if any(ch.isspace() or not ch.isprintable() for ch in prefix):
        raise UsageError(f"--prefix {prefix!r} holds spaces or control characters")
    return name, prefix


def cmd_collect_iam(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError, ProfileNotFound

    from .iam import collect

    try:
        session = boto3.Session(profile_name=args.profile) if args.profile else None
        path = collect.collect_snapshot(
            Path(args.out), session=session, accounts=args.accounts or None, role_name=args.role_name,
            regions=args.regions or None,
        )
    except (NoCredentialsError, PartialCredentialsError, ProfileNotFound) as exc:
        raise UsageError(f"collect iam: {exc}; configure AWS credentials (environment, profile or "
                         "instance role) or pass --profile") from exc
    print(f"IAM snapshot: {path}")
    return EXIT_OK


def cmd_policy(args: argparse.Namespace) -> int:
    import json

    from .aws import required_iam_policy

    scope = {k: v for k, v in {"region": args.region, "account_id": args.account_id,
                               "work_group": args.work_group, "database": args.database, "table": args.table,
                               "cloudtrail_bucket": args.cloudtrail_bucket, "results_bucket": args.results_bucket,
                               "event_data_store": args.event_data_store, "role_name": args.role_name,
                               "kms_key_arns": args.kms_key_arn, "results_kms_key_arns": args.results_kms_key_arn,
                               "one_scan": args.one_scan}.items() if v}
    document = required_iam_policy(args.what, **scope)
    if args.one_scan:  # on stderr: stdout stays the policy document alone
        from .aws.policy import one_scan_notice

        for line in one_scan_notice(**{k: v for k, v in scope.items()
                                       if k in ("region", "account_id", "database", "results_bucket")}):
            print(line, file=sys.stderr)
    print(json.dumps(document, indent=2))
    return EXIT_OK


def _event_count(text: str) -> int:
    """argparse type for `demo --events`: a whole number in the generator's range."""
    from .demo.generate import MAX_EVENTS, MIN_EVENTS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not MIN_EVENTS <= value <= MAX_EVENTS:
        raise argparse.ArgumentTypeError(f"{value:,} is outside {MIN_EVENTS:,} to {MAX_EVENTS:,}")
    return value


def _positive(text: str) -> int:
    """argparse type for a count of at least one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line (exit 2), like every other error a user can cause."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import engines

    parser = _Parser(prog="trailbook", description="Security analytics over AWS CloudTrail.")
    parser.add_argument("--version", action="version", version=f"trailbook {__import__('trailbook').__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="generate the demo organisation's CloudTrail and IAM snapshot")
    p.add_argument("--out", default="demo", help="output folder (default: ./demo)")
    p.add_argument("--events", type=_event_count, default=40_000, help="background events (default 40000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-incidents", action="store_true", help="normal background only")
    p.add_argument("--org-shape", type=_positive, metavar="ACCOUNTS",
                   help="instead: an organization's delivery shape (ACCOUNTS x every region, a file per "
                        "account, region and 5 minutes), for scale benchmarks")
    p.add_argument("--days", type=_positive, default=1, help="with --org-shape: days of deliveries (default 1)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="build or update the local store from CloudTrail files")
    p.add_argument("source", help="folder, file or glob of CloudTrail files, or 'demo'")
    p.add_argument("--store", help="store folder (default: one per source under $TRAILBOOK_HOME, ~/.cache/trailbook)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("compact", help="rewrite each partition's Parquet files of a local store into one")
    p.add_argument("--store", required=True, help="store folder")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_compact)

    p = sub.add_parser("findings", help="run every detection on a source; one finding per line")
    p.add_argument("--source", required=True,
                   help="folder, file or glob of CloudTrail files (ingested as needed), or 'demo'")
    p.add_argument("--store", help="store folder (default: one per source under $TRAILBOOK_HOME, ~/.cache/trailbook)")
    _add_window(p)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--out", help="write here instead of standard output")
    p.add_argument("--detection", dest="detections", action="append", help="run only this detection (repeatable)")
    p.add_argument("--iam-snapshot", default="auto",
                   help="IAM snapshot folder for the hygiene, unused-permission and exposure checks "
                        "(default 'auto': the source's own, as the demo has; none otherwise)")
    p.add_argument("--geoip-db", help="MaxMind .mmdb file for the country-of-sign-in check")
    p.add_argument("--allowed-countries", help="ISO country codes sign-ins are expected from, e.g. US,DE")
    p.add_argument("--trusted-accounts", help="accounts of your organization beyond those seen and the snapshot's, "
                                              "for the exposure detections, e.g. 111122223333,444455556666")
    p.add_argument("--fail-on", choices=("info", "low", "medium", "high", "critical"),
                   help="exit 3 when a finding at or above this severity exists (as `report` does)")
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
    p.add_argument("--pdf", action="store_true",
                   help="also print every page to PDF with headless Chromium (exit 2 before the run without it)")
    p.add_argument("--estimate", action="store_true",
                   help="athena: print what each query and the whole report would scan and cost, from the trail's "
                        "object listing (read-only; nothing is queried, no notebook runs); needs --trail-bucket")
    p.add_argument("--trail-bucket", help="with --estimate: the trail's bucket, or s3://bucket/prefix before AWSLogs/")
    p.add_argument("--org-id", help="with --estimate: organization trail (AWSLogs/<org-id>/<account>/...)")
    p.add_argument("--one-scan", action="store_true",
                   help="athena, opt-in: read the window once (a temporary Parquet table, dropped afterwards); prints "
                        "the permissions it needs first (`trailbook policy athena --one-scan`)")
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
    from .engines.settings import DEFAULT_ATHENA_DATABASE, DEFAULT_ATHENA_TABLE

    p.add_argument("--database", default=DEFAULT_ATHENA_DATABASE)
    p.add_argument("--table", default=DEFAULT_ATHENA_TABLE, help="default: the athena engine's default table")
    p.add_argument("--accounts", nargs="+", default=[],
                   help="project these accounts (enum); default: any account, injected (queries must name accounts)")
    p.add_argument("--regions", nargs="+", default=[], help="default: every region of the aws partition")
    p.add_argument("--org-id", help="organization trail: AWSLogs/<org-id>/<account>/...")
    p.add_argument("--start-date", default="2020/01/01", help="first date partition, yyyy/MM/dd")
    p.add_argument("--accounts-from", help="project the accounts with logs in the bucket: a `trailbook athena doctor "
                   "--json` listing (or a file of account ids, one a line); with --accounts, both")
    p.set_defaults(func=cmd_athena_ddl)
    p = athena.add_parser("doctor", help="check the Athena setup before a report (read-only; one small test query)")
    _add_doctor(p, "athena")
    p.add_argument("--work-group")
    p.add_argument("--database")
    p.add_argument("--table")
    p.add_argument("--bucket", help="s3://bucket[/prefix] of the trail, listed when the table does not exist yet")
    lake = sub.add_parser("lake", help="CloudTrail Lake helpers").add_subparsers(dest="lake_command", required=True)
    p = lake.add_parser("doctor", help="check the Lake event data store before a report (read-only; one test query)")
    _add_doctor(p, "lake")
    p.add_argument("--event-data-store", help="id or ARN (default: the config file's)")

    p = athena.add_parser("estimate", help="price a run from the trail's object listing (nothing is queried)")
    p.add_argument("--bucket", required=True, help="the trail bucket, or s3://bucket/prefix")
    p.add_argument("--prefix", default="", help="key prefix before AWSLogs/")
    p.add_argument("--org-id", help="organization trail: AWSLogs/<org-id>/<account>/...")
    _add_window(p, required=True)
    p.add_argument("--accounts", nargs="+", default=[], help="default: every account folder in the bucket")
    p.add_argument("--regions", nargs="+", default=[], help="default: every region folder of each account")
    p.add_argument("--detection", dest="detections", action="append",
                   help="price only this detection (repeatable; default: every detection that runs on Athena)")
    p.add_argument("--region", help="AWS region of the S3 client (default: the environment's)")
    p.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    p.set_defaults(func=cmd_athena_estimate)

    p = sub.add_parser("policy", help="print the least-privilege IAM policy trailbook needs (athena, lake, collect)")
    p.add_argument("what", choices=("athena", "lake", "collect"))
    for option in ("region", "account-id", "work-group", "database", "table", "cloudtrail-bucket", "results-bucket",
                   "event-data-store", "role-name"):
        p.add_argument(f"--{option}")
    p.add_argument("--kms-key-arn", action="append", default=[],
                   help="a KMS key that encrypts the trail's objects (kms:Decrypt); repeat for several")
    p.add_argument("--results-kms-key-arn", action="append", default=[],
                   help="athena: the KMS key of an SSE-KMS results location (kms:GenerateDataKey, kms:Decrypt)")
    p.add_argument("--one-scan", action="store_true",
                   help="athena: add what the opt-in one-scan mode needs (a temporary table and its Parquet, removed "
                        "after the run)")
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


def _add_doctor(parser: argparse.ArgumentParser, engine: str) -> None:
    parser.add_argument("--config", help=f"config file with the {engine} section (default: TRAILBOOK_CONFIG)")
    parser.add_argument("--region")
    parser.add_argument("--profile")
    parser.add_argument("--json", action="store_true", help="one JSON document (checks, bucket listing, test query)")
    parser.set_defaults(func=cmd_doctor, engine=engine)


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
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a usage error (one line, exit 2), --help or --version: a code, not an exit
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
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
