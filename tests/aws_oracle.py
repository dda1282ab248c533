"""An independent read-only oracle: every AWS call trailbook's code makes is checked against a rule
this file defines, not against the library's own allow-list.

botocore's `BaseClient._make_api_call` is wrapped for the whole test run. A call counts when it was
made from a frame inside lib/trailbook (test code seeding moto is free to write) and it reached the
service: it returned, or AWS (moto, a Stubber) answered with an error. A call the library's guard
refused never reached the service, so it does not count.
"""

from __future__ import annotations

import sys
from pathlib import Path

import botocore.client
from botocore.exceptions import ClientError

LIBRARY = str(Path(__file__).resolve().parent.parent / "lib" / "trailbook") + "/"

READ_PREFIXES = ("Get", "List", "Describe", "Generate", "Lookup", "Search")

# Reviewed one by one: query lifecycle calls start or stop a query and change no configuration;
# AssumeRole is how multi-account collection reads each member account; HeadObject is an HTTP HEAD
# (pyathena reads a result file's size before it downloads it).
EXCEPTIONS = frozenset({
    ("s3", "HeadObject"),
    ("athena", "StartQueryExecution"),
    ("athena", "StopQueryExecution"),
    ("cloudtrail", "StartQuery"),
    ("cloudtrail", "CancelQuery"),
    ("sts", "AssumeRole"),
})

calls: list[tuple[str, str]] = []  # (service, operation) made by the library, in order


def is_read_only(service: str, operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or (service, operation) in EXCEPTIONS


def violations(made: list[tuple[str, str]]) -> list[str]:
    return [f"{service}:{operation}" for service, operation in made if not is_read_only(service, operation)]


def _from_library() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(LIBRARY):
            return True
        frame = frame.f_back
    return False


_original = botocore.client.BaseClient._make_api_call


def _recording_make_api_call(self, operation_name, api_params):  # type: ignore[no-untyped-def]
    service = self.meta.service_model.service_name
    library = _from_library()
    try:
        result = _original(self, operation_name, api_params)
    except ClientError:
        if library:
            calls.append((service, operation_name))
        raise
    if library:
        calls.append((service, operation_name))
    return result


def install() -> None:
    botocore.client.BaseClient._make_api_call = _recording_make_api_call  # type: ignore[method-assign]
