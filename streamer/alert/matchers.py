"""Label matchers in Alertmanager syntax: `name="value"`, `name!="value"`, `name=~"re"`, `name!~"re"`.

Regular expressions are anchored (they must match the whole value); a missing label is "".

>>> m = parse_matcher('severity=~"high|critical"')
>>> m.matches({"severity": "high"}), m.matches({"severity": "highest"})
(True, False)
>>> matches_all(parse_matchers(['user_id="jdoe"', 'detector!="login_failures"']), {"user_id": "jdoe"})
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

_SYNTAX = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # one of = != =~ !~
    value: str
    _regex: re.Pattern | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = str(labels.get(self.name, ""))
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = self._regex.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher; raises ValueError with the offending text."""
    m = _SYNTAX.match(text)
    if not m:
        raise ValueError(f"not a label matcher: {text!r} (expected name=\"value\", !=, =~ or !~)")
    name, op = m.group(1), m.group(2)
    value = m.group(3) if m.group(3) is not None else m.group(4)
    value = value.replace('\\"', '"').replace("\\\\", "\\")
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression in {text!r}: {exc}") from exc
    return Matcher(name, op, value, regex)


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in texts or ())


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
