"""What the events show each credential and entity using, so the IAM snapshot agrees with them.

Access keys keep their last use (time, service, region) as GetAccessKeyLastUsed reports it;
entities keep their last use per service and per action, as Access Advisor reports them
(attempts count, failed or not, as IAM documents). Sign-ins keep password last used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import Api


@dataclass
class Usage:
    keys: dict[str, tuple[int, str, str]] = field(default_factory=dict)               # key id → (t, namespace, region)
    # (entity, namespace) → (t, region)
    services: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    # (entity, namespace, action) → (t, region)
    actions: dict[tuple[str, str, str], tuple[int, str]] = field(default_factory=dict)
    passwords: dict[str, int] = field(default_factory=dict)                            # user/root ARN → last sign-in
    roles: dict[str, tuple[int, str]] = field(default_factory=dict)                     # role ARN → (t, region)

    def call(self, entity: str | None, key_id: str | None, api: Api, region: str, t: int) -> None:
        """One API call by `entity` (user or role ARN) with `key_id` (None for service callers)."""
        if key_id:
            last = self.keys.get(key_id)
            if last is None or t >= last[0]:
                self.keys[key_id] = (t, api.namespace, region)
        if entity is None:
            return
        if entity.startswith("arn:aws:iam::") and ":role/" in entity:
            last_role = self.roles.get(entity)
            if last_role is None or t >= last_role[0]:
                self.roles[entity] = (t, region)
        if api.action is None:
            return  # needs no permission, so Access Advisor never sees it
        skey = (entity, api.namespace)
        last_s = self.services.get(skey)
        if last_s is None or t >= last_s[0]:
            self.services[skey] = (t, region)
        akey = (entity, api.namespace, api.action)
        last_a = self.actions.get(akey)
        if last_a is None or t >= last_a[0]:
            self.actions[akey] = (t, region)

    def sign_in(self, arn: str, t: int) -> None:
        if t >= self.passwords.get(arn, 0):
            self.passwords[arn] = t
