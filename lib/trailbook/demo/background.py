"""The clean background: each burst of the schedule turned into CloudTrail records.

Cleanliness is enforced, not hoped for: during history every stream first walks through all
its items and (IP, tool) pairs, and in the detection week a stream only uses items and pairs
it has already used in history — no new IP, agent, region or action appears except by design
of the incidents. Streams (who does what) are in streams.py, the calendar in schedule.py.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from . import ids, records
from .delivery import Delivery
from .schedule import Burst
from .streams import SESSION_LIFETIME, Stream, Tool
from .usage import Usage
from .window import DAY, DETECTION_START, HISTORY_START, HOUR, WINDOW_END
from .world import PROD, World


@dataclass
class Background:
    world: World
    delivery: Delivery
    usage: Usage
    deny_every: int = 0           # every n-th eligible read by a person is denied: a handful per run, never a burst
    _eligible: int = 0
    dumps: Callable[[dict], bytes] = orjson.dumps
    denied: int = 0

    def run(self, b: Burst, rng: random.Random) -> None:
        s = b.stream
        if b.count <= 0:
            return
        detection = b.start >= DETECTION_START
        ip, tool_index = self._pair(s, rng, detection)
        tool = s.tools[tool_index]
        items, cum, total = self._choices(s, tool_index, detection)
        times = self._times(b, rng)
        account = s.account
        last: dict[int, int] = {}
        emit = self.delivery.add
        dumps = self.dumps
        api_call = records.api_call

        identity, console = self._identity(s, b, rng, ip)
        first = self._open_session(s, b, tool, times[0], identity, ip, rng)
        for n in range(first, len(times)):
            t = times[n]
            if n == first and tool.first is not None and (not detection or (tool_index, tool.first) in s.seen_items):
                index = tool.first
            else:
                uncovered = self._next_uncovered(s, tool_index) if s.uncovered and not detection else None
                index = uncovered if uncovered is not None else items[bisect.bisect(cum, rng.random() * total)]
            item = tool.items[index]
            a = item.api
            variants = item.variants
            params, resources, response = variants[int(rng.random() * len(variants))]
            error = None
            if s.deniable and self.deny_every and a.read_only and a.action:
                self._eligible += 1
                if self._eligible % self.deny_every == 0:
                    error = records.denial(a, s.entity, item.region, account)
                    self.denied += 1
            rec = api_call(rng, t=t, identity=identity, account=account, region=item.region, api=a, ip=ip,
                           ua=item.ua or tool.ua, params=params, resources=resources, response=response, error=error,
                           console=console, vpce=item.vpce, tls_details=item.tls or False)
            emit(account, item.region, t, dumps(rec))
            last[index] = t

        key_id = identity.get("accessKeyId") or None
        for index, t in last.items():
            item = tool.items[index]
            self.usage.call(s.entity, key_id, item.api, item.region, t)
            if not detection:
                s.seen_items.add((tool_index, index))
        if not detection and (ip, tool_index) not in s.seen_pairs:
            s.seen_pairs.append((ip, tool_index))

    def _open_session(self, s: Stream, b: Burst, tool: Tool, t: int, identity: dict, ip: str,
                      rng: random.Random) -> int:
        """The event that opens a burst's session, if it has one (console sign-in, fresh role
        credentials); returns how many of the burst's times it used."""
        account = s.account
        if s.kind == "console":
            rec = records.console_login(rng, t=t, account=account, ip=ip, ua=tool.ua, success=True,
                                        mfa_used=True, user=s.user)
            self.delivery.add(account, "us-east-1", t, self.dumps(rec))
            self.usage.sign_in(s.entity, t)
            return 1
        if s.kind in ("instance", "lambda") and s.credentials is not None and s.credentials[1] == b.start:
            # Fresh role credentials: the service's AssumeRole opens the session.
            service = "ec2.amazonaws.com" if s.kind == "instance" else "lambda.amazonaws.com"
            region = tool.items[0].region
            rec = records.service_assume_role(rng, t=t, account=account, region=region, role=s.role,
                                              session=s.session, service=service, key_id=identity["accessKeyId"],
                                              duration=SESSION_LIFETIME)
            self.delivery.add(account, region, t, self.dumps(rec))
            return 1
        return 0

    # -- helpers --

    def _pair(self, s: Stream, rng: random.Random, detection: bool) -> tuple[str, int]:
        if detection and s.seen_pairs:
            return s.seen_pairs[rng.randrange(len(s.seen_pairs))]
        unused = [p for p in s.pairs if p not in s.seen_pairs]
        if unused and not detection:
            return unused[0]
        tool_index = _weighted_index(rng, [t.weight for t in s.tools])
        return s.ips[rng.randrange(len(s.ips))], tool_index

    def _choices(self, s: Stream, tool_index: int, detection: bool) -> tuple[list[int], list[float], float]:
        tool = s.tools[tool_index]
        allowed = [i for i in range(len(tool.items)) if not detection or (tool_index, i) in s.seen_items]
        if not allowed:
            allowed = list(range(len(tool.items)))
        cum, total = [], 0.0
        for i in allowed:
            total += tool.items[i].weight
            cum.append(total)
        return allowed, cum, total

    @staticmethod
    def _next_uncovered(s: Stream, tool_index: int) -> int | None:
        for n, (ti, ii) in enumerate(s.uncovered):
            if ti == tool_index:
                del s.uncovered[n]
                return ii
        return None

    @staticmethod
    def _times(b: Burst, rng: random.Random) -> list[int]:
        start, duration, random_ = b.start, b.duration, rng.random
        out = sorted(start + int(random_() * duration) for _ in range(b.count))
        out[0] = b.start  # the session's opening event is its first
        return out

    def _identity(self, s: Stream, b: Burst, rng: random.Random, ip: str) -> tuple[dict, bool]:
        """(userIdentity, console session?) for one burst."""
        if s.kind == "console":
            return records.console_user_identity(s.user, ids.access_key_id(rng, "ASIA"), b.start, True), True
        if s.kind in ("cli", "ci", "job"):
            return records.iam_user_identity(s.user, s.long_term_key), False
        if s.kind == "autoscaling":
            return records.role_session_identity(s.role, s.session, ids.access_key_id(rng, "ASIA"), b.start,
                                                 invoked_by="autoscaling.amazonaws.com"), False
        if s.credentials is None or b.start - s.credentials[1] >= SESSION_LIFETIME:
            s.credentials = (ids.access_key_id(rng, "ASIA"), b.start)
        key_id, issued = s.credentials
        return records.role_session_identity(s.role, s.session, key_id, issued, ec2=s.kind == "instance"), False


def _weighted_index(rng: random.Random, weights: list[float]) -> int:
    pick = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        pick -= w
        if pick < 0:
            return i
    return len(weights) - 1


def rotation_events(world: World, rng: random.Random, skip: Callable[[int], bool]) -> list[tuple[int, dict]]:
    """Secrets Manager's nightly rotation of the prod database secret (fixed, one a day)."""
    res = world.accounts[PROD].resources
    arn = res.secret_arn("us-east-1", res.secrets[0])
    out = []
    for day in range(HISTORY_START, WINDOW_END, DAY):
        t = day + 4 * HOUR + rng.randrange(600)
        if not skip(t):
            out.append((t, records.secret_rotated(rng, t=t, account=PROD, region="us-east-1", secret_arn=arn)))
    return out
