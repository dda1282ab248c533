"""Mutation testing of the modules that carry guarantees, with cosmic-ray (see README.md here).

    python tests/mutation/run_modules.py [--work build/mutation] [--fresh] [module ...]

Each module is mutated with only the tests that cover it (MODULES), so a run stays short. The
mutants are made in a copy of the repository (WORK/tree), never in the working tree: cosmic-ray
edits the file in place while the tests run, and others run tests from this checkout. A module's
session (WORK/sessions/<module>.sqlite) is resumed when the run is interrupted, and started again
when the module's source changed. Results: tests/mutation/results/<module>.md (every survivor with
its diff) and the table in tests/mutation/score.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from score import EXCLUDED_OPERATORS, ModuleScore, reset_survivors, summarise, write_module_report, write_score  # noqa: E402

TRANSLATE_TESTS = ("tests/test_translate.py", "tests/test_translate_mutants.py", "tests/test_engine_sql.py")
# module name -> (source file(s) under lib/trailbook, covering tests, timeout per test run in seconds)
MODULES: dict[str, tuple[str, tuple[str, ...], int]] = {
    "params": ("params.py", ("tests/test_params.py",), 60),
    "resource_policy": ("resource_policy.py", ("tests/test_resource_policy.py",), 60),
    "loader_times": ("loader/times.py", ("tests/test_loader_records.py",), 60),
    "loader_records": ("loader/records.py", ("tests/test_loader_records.py",), 60),
    "mask": ("mask.py", ("tests/test_mask.py",), 60),
    "redact": ("redact.py", ("tests/test_redact.py", "tests/test_redact_mutants.py"), 120),
    "aws_guard": ("aws/guard.py", ("tests/test_aws_calls_oracle.py",), 120),
    "store_dedupe": ("store/dedupe.py", ("tests/test_store_dedupe.py",
                                         "tests/test_store.py::test_duplicates_within_one_batch",
                                         "tests/test_store.py::test_duplicates_against_the_store",
                                         "tests/test_store.py::test_an_interrupted_ingest_leaves_nothing_readers_see",
                                         "tests/test_store.py::test_dedupe_does_not_depend_on_batch_boundaries"), 300),
    "reports_publish": ("reports/publish.py", ("tests/test_reports_publish.py",), 60),
    "reports_manifest": ("reports/manifest.py", ("tests/test_reports_publish.py",), 60),
    "store_scan": ("store/scan.py", ("tests/test_store_scan.py",), 60),
    # translate/: a module per file, so each run fits a session (~770 mutants in all)
    **{f"translate_{name}": (f"translate/{name}.py", TRANSLATE_TESTS, 60)
       for name in ("casts", "common", "rewrite", "datetimes", "unnest", "anonymous", "inference",
                    "macros", "scalars", "arrays")},
}
# What the copy needs to import trailbook and run the tests.
COPY = ("lib", "tests", "queries", "notebooks", "pyproject.toml")


def copy_tree(work: Path) -> Path:
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tree / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, tree / name)
    return tree


def source_hash(tree: Path, rel: str) -> str:
    path = tree / "lib" / "trailbook" / rel
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def config(work: Path, tree: Path, name: str) -> Path:
    rel, tests, timeout = MODULES[name]
    # PYTHONPATH puts the copy before the editable install's path entry.
    command = (f"env PYTHONPATH={tree / 'lib'} {sys.executable} -m pytest -q -x -p no:cacheprovider "
               f"-p no:randomly -p no:anyio -p no:xdist {' '.join(tests)}")
    path = work / f"{name}.toml"
    path.write_text(
        "[cosmic-ray]\n"
        f'module-path = "lib/trailbook/{rel}"\n'
        f"timeout = {float(timeout)}\n"
        "excluded-modules = []\n"
        f'test-command = "{command}"\n\n'
        '[cosmic-ray.distributor]\nname = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(list(EXCLUDED_OPERATORS))}\n",
        encoding="utf-8",
    )
    return path


def cosmic_ray(*args: str | Path, cwd: Path, tool: str = "cosmic-ray") -> None:
    tool = str(Path(sys.executable).with_name(tool))
    subprocess.run([str(tool), *map(str, args)], cwd=cwd, check=True)


def run_module(work: Path, tree: Path, name: str) -> ModuleScore:
    sessions = work / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    db, stamp = sessions / f"{name}.sqlite", sessions / f"{name}.sha256"
    cfg = config(work, tree, name)
    digest = source_hash(tree, MODULES[name][0])
    if not db.exists() or not stamp.exists() or stamp.read_text() != digest:
        db.unlink(missing_ok=True)
        cosmic_ray("init", cfg, db, cwd=tree)
        stamp.write_text(digest)
    else:
        reset_survivors(db)  # tests added since the last run get their chance
    cosmic_ray(db, cfg, cwd=tree, tool="cr-filter-operators")
    cosmic_ray("baseline", cfg, cwd=tree)  # the unmutated tests must pass, or every mutant looks killed
    cosmic_ray("exec", cfg, db, cwd=tree)
    score = summarise(name, db)
    write_module_report(score, HERE / "results" / f"{name}.md")
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "mutation")
    parser.add_argument("--fresh", action="store_true", help="forget earlier sessions")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        print(f"unknown module(s) {unknown}; known: {sorted(MODULES)}", file=sys.stderr)
        return 2
    args.work = args.work.resolve()  # cosmic-ray runs inside the copy
    if args.fresh and (args.work / "sessions").exists():
        shutil.rmtree(args.work / "sessions")
    tree = copy_tree(args.work)
    status = 0
    for name in args.modules or list(MODULES):
        try:
            score = run_module(args.work, tree, name)
        except subprocess.CalledProcessError as exc:  # e.g. its tests fail unmutated: say so, go on
            print(f"{name}: not scored: `{' '.join(map(str, exc.cmd[:2]))}` exited {exc.returncode}", file=sys.stderr)
            status = 1
            continue
        print(f"{name}: {score.killed}/{score.total} killed, {len(score.survivors)} survived")
        write_score(HERE / "score.md")
    return status


if __name__ == "__main__":
    sys.exit(main())
