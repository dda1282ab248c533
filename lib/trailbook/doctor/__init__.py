"""Preflight checks for the cloud engines, read-only and cheap enough for every scheduled run:
`trailbook athena doctor` (`athena.diagnose`) and `trailbook lake doctor` (`lake.diagnose`).

Every AWS call goes through a session guarded for the doctor's role (`aws.doctor_role`): the engine's
calls, to run one test query, plus the reads in `aws.DOCTOR_READS`; `trailbook policy` grants them.
Each check is one line, PASS, WARN, FAIL or SKIP, with what to fix (`checks`).
"""

from __future__ import annotations

from .checks import FAIL, PASS, SKIP, WARN, Check, Report

__all__ = ["FAIL", "PASS", "SKIP", "WARN", "Check", "Report"]
