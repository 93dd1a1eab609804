"""OCI linux.resources.devices rules: parsing, the v1 file lines, and the evaluation order."""

from __future__ import annotations

from minidocker.errors import InvalidConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ACCESS_BITS = {"m": 1, "r": 2, "w": 4}  # the kernel's BPF_DEVCG_ACC_* values
TYPES = ("a", "c", "b")


class DeviceRule(tuple):
    """type: a (all), c (char), b (block); major/minor None: any. (A plain tuple:
    collections.namedtuple costs 1 ms of imports on the run path; typing, for NamedTuple or
    dataclasses, 7 ms.)"""

    __slots__ = ()

    def __new__(cls, allow: bool, type: str = "a", major: int | None = None,
                minor: int | None = None, access: str = "rwm") -> DeviceRule:
        return tuple.__new__(cls, (allow, type, major, minor, access))

    allow = property(lambda self: self[0], doc="allow (True) or deny")
    type = property(lambda self: self[1], doc="a (all), c (char) or b (block)")
    major = property(lambda self: self[2], doc="major number; None: any")
    minor = property(lambda self: self[3], doc="minor number; None: any")
    access = property(lambda self: self[4], doc="some of r, w, m")

    def __repr__(self) -> str:
        return f"DeviceRule{tuple.__repr__(self)}"

    @property
    def access_mask(self) -> int:
        return sum(ACCESS_BITS[c] for c in self.access)

    @property
    def matches_all(self) -> bool:
        """A rule of type 'a': in v1 it resets the whole list (default allow or deny)."""
        return self.type == "a"

    def v1_line(self) -> str:
        major = "*" if self.major is None else str(self.major)
        minor = "*" if self.minor is None else str(self.minor)
        if self.type == "a":
            return "a"
        return f"{self.type} {major}:{minor} {self.access}"


def _number(value: Any, key: str) -> int | None:
    if value is None or value == -1:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidConfig(f"{key}: must be a device number or -1 (any), not {value!r}")
    return value


def parse_rules(devices: Any) -> list[DeviceRule]:
    if devices is None:
        return []
    if not isinstance(devices, list):
        raise InvalidConfig("linux.resources.devices: must be a list")
    rules = []
    for i, entry in enumerate(devices):
        key = f"devices[{i}]"
        if not isinstance(entry, dict):
            raise InvalidConfig(f"{key}: must be an object")
        unknown = sorted(set(entry) - {"allow", "type", "major", "minor", "access"})
        if unknown:
            raise InvalidConfig(f"{key}: unknown key {unknown[0]!r}")
        if not isinstance(entry.get("allow"), bool):
            raise InvalidConfig(f"{key}.allow: required, true or false")
        dtype = entry.get("type") or "a"
        if dtype not in TYPES:
            raise InvalidConfig(f"{key}.type: must be one of a, c, b (not {dtype!r})")
        access = entry.get("access") or "rwm"
        if not isinstance(access, str) or not access or set(access) - set("rwm") or \
                len(set(access)) != len(access):
            raise InvalidConfig(f"{key}.access: must be a combination of r, w, m "
                                f"(not {access!r})")
        access = "".join(c for c in "rwm" if c in access)
        rules.append(DeviceRule(entry["allow"], dtype, _number(entry.get("major"),
                                f"{key}.major"), _number(entry.get("minor"), f"{key}.minor"),
                                access))
    return rules


def effective(rules: list[DeviceRule]) -> tuple[bool, list[DeviceRule]]:
    """(default allow, exceptions) with v1's semantics: the rules apply in order, and a rule
    of type 'a' resets everything before it. Later exceptions win over earlier ones."""
    default = True  # a new v1 devices cgroup starts as its parent: on a host, allow all
    start = 0
    for i, rule in enumerate(rules):
        if rule.matches_all:
            default, start = rule.allow, i + 1
    return default, rules[start:]
