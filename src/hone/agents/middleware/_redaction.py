"""Finding sensitive values in text and rewriting them: the built-in detectors (email, credit
card, IP, MAC address, URL), custom detectors (a regex or a function), and the four
strategies (``block``, ``redact``, ``mask``, ``hash``) :class:`PIIMiddleware` applies.

The detectors and the replacement texts are LangChain's (``[REDACTED_EMAIL]``,
``****-****-****-1234``, ``<email_hash:1a2b3c4d>``...), so redacted conversations read the
same whichever library produced them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypedDict
from urllib.parse import urlparse

__all__ = [
    "BUILTIN_DETECTORS",
    "Detector",
    "PIIDetectionError",
    "PIIMatch",
    "RedactionRule",
    "RedactionStrategy",
    "ResolvedRedactionRule",
    "apply_strategy",
    "detect_credit_card",
    "detect_email",
    "detect_ip",
    "detect_mac_address",
    "detect_url",
    "resolve_detector",
]

#: What to do with a detected value: raise, replace with a placeholder, partially hide, or
#: replace with a short digest (the same value always gets the same digest).
RedactionStrategy: TypeAlias = Literal["block", "redact", "mask", "hash"]


class PIIMatch(TypedDict):
    """One detected value: its type name, its text, and where it lies (``[start, end)``)."""

    type: str
    value: str
    start: int
    end: int


class PIIDetectionError(Exception):
    """Sensitive values were found where the ``block`` strategy forbids them.

    Attributes:
        pii_type: the type that was found.
        matches: every match of that type in the text.
    """

    def __init__(self, pii_type: str, matches: Sequence[PIIMatch]) -> None:
        self.pii_type = pii_type
        self.matches = list(matches)
        super().__init__(f"Detected {len(self.matches)} instance(s) of {pii_type} in text content")


#: A detector: the matches it finds in a text.
Detector: TypeAlias = Callable[[str], list[PIIMatch]]


def _matches(pattern: re.Pattern[str], content: str, pii_type: str) -> list[PIIMatch]:
    return [
        PIIMatch(type=pii_type, value=m.group(), start=m.start(), end=m.end())
        for m in pattern.finditer(content)
    ]


_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b")
_CARD = re.compile(r"\b\d{4}[\s-]?\d{4}[\s-]?\d{4}[\s-]?\d{4}\b")
_IPV4 = re.compile(r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b")
_MAC = re.compile(r"\b([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b")
_URL_WITH_SCHEME = re.compile(r"https?://[^\s<>\"{}|\\^`\[\]]+")
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_BARE_URL = re.compile(rf"\b(?:www\.)?{_LABEL}(?:\.{_LABEL})+(?:/[^\s]*)?")


def detect_email(content: str) -> list[PIIMatch]:
    """Email addresses in ``content``."""
    return _matches(_EMAIL, content, "email")


def _luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` (13 to 19 of them) pass the Luhn checksum."""
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return total % 10 == 0


def detect_credit_card(content: str) -> list[PIIMatch]:
    """Card numbers in ``content``: four groups of four digits (joined by nothing, spaces or
    dashes) that pass the Luhn checksum."""
    return [m for m in _matches(_CARD, content, "credit_card") if _luhn_valid(m["value"])]


def detect_ip(content: str) -> list[PIIMatch]:
    """IPv4 addresses in ``content`` (dotted quads that are valid addresses)."""
    found: list[PIIMatch] = []
    for match in _matches(_IPV4, content, "ip"):
        try:
            ipaddress.ip_address(match["value"])
        except ValueError:
            continue
        found.append(match)
    return found


def detect_mac_address(content: str) -> list[PIIMatch]:
    """MAC addresses in ``content`` (six hex pairs joined by colons or dashes)."""
    return _matches(_MAC, content, "mac_address")


def detect_url(content: str) -> list[PIIMatch]:
    """URLs in ``content``: ``http(s)://`` ones, and bare ones that start with ``www.`` or
    have a path (a bare ``example.com`` in prose is not taken for a URL)."""
    found = [
        m
        for m in _matches(_URL_WITH_SCHEME, content, "url")
        if (parsed := urlparse(m["value"])).scheme in {"http", "https"} and parsed.netloc
    ]
    for match in _matches(_BARE_URL, content, "url"):
        start, end = match["start"], match["end"]
        if any(f["start"] <= start < f["end"] or f["start"] < end <= f["end"] for f in found):
            continue
        url = match["value"]
        if "/" not in url and not url.startswith("www."):
            continue
        netloc = urlparse(f"http://{url}").netloc
        if netloc and "." in netloc:
            found.append(match)
    return found


#: The detectors of the built-in types, by type name.
BUILTIN_DETECTORS: dict[str, Detector] = {
    "email": detect_email,
    "credit_card": detect_credit_card,
    "ip": detect_ip,
    "mac_address": detect_mac_address,
    "url": detect_url,
}


def _mask(match: PIIMatch) -> str:
    """The masked form of one value: its type's shape with most characters hidden."""
    value, kind = match["value"], match["type"]
    if kind == "email":
        local, at, domain = value.partition("@")
        if not at or "@" in domain:
            return "****"
        labels = domain.split(".")
        return f"{local}@****.{labels[-1]}" if len(labels) > 1 else f"{local}@****"
    if kind == "credit_card":
        last4 = "".join(c for c in value if c.isdigit())[-4:]
        sep = "-" if "-" in value else " " if " " in value else ""
        return f"****{sep}****{sep}****{sep}{last4}" if sep else f"************{last4}"
    if kind == "ip":
        octets = value.split(".")
        return f"*.*.*.{octets[-1]}" if len(octets) == 4 else "****"
    if kind == "mac_address":
        sep = ":" if ":" in value else "-"
        return sep.join(["**"] * 5) + f"{sep}{value[-2:]}"
    if kind == "url":
        return "[MASKED_URL]"
    return f"****{value[-4:]}" if len(value) > 4 else "****"


def _hashed(match: PIIMatch) -> str:
    digest = hashlib.sha256(match["value"].encode()).hexdigest()[:8]
    return f"<{match['type']}_hash:{digest}>"


def _replaced(content: str, matches: Sequence[PIIMatch], replace: Callable[[PIIMatch], str]) -> str:
    """``content`` with each match replaced, the last first so earlier offsets stay right."""
    out = content
    for match in sorted(matches, key=lambda m: m["start"], reverse=True):
        out = out[: match["start"]] + replace(match) + out[match["end"] :]
    return out


def apply_strategy(content: str, matches: list[PIIMatch], strategy: RedactionStrategy) -> str:
    """``content`` with ``matches`` handled by ``strategy`` (unchanged when there are none).

    Raises:
        PIIDetectionError: ``strategy`` is ``"block"`` and there are matches.
        ValueError: an unknown strategy.
    """
    if not matches:
        return content
    if strategy == "redact":
        return _replaced(content, matches, lambda m: f"[REDACTED_{m['type'].upper()}]")
    if strategy == "mask":
        return _replaced(content, matches, _mask)
    if strategy == "hash":
        return _replaced(content, matches, _hashed)
    if strategy == "block":
        raise PIIDetectionError(matches[0]["type"], matches)
    raise ValueError(
        f"Unknown redaction strategy: {strategy} (use 'block', 'redact', 'mask' or 'hash')"
    )


def _normalized(found: Mapping[str, Any], pii_type: str) -> PIIMatch:
    """A custom detector's match as a :class:`PIIMatch` (it may name the text ``text`` and
    leave out ``type``)."""
    return PIIMatch(
        type=found.get("type", pii_type),
        value=found.get("value", found.get("text", "")),
        start=found["start"],
        end=found["end"],
    )


def resolve_detector(pii_type: str, detector: Detector | str | None) -> Detector:
    """The detector for a configuration: the built-in one for ``pii_type`` when ``detector``
    is None, a regex search when it is a string, else the function (its matches normalised).

    Raises:
        ValueError: no detector given and ``pii_type`` is not a built-in type.
    """
    if detector is None:
        if pii_type not in BUILTIN_DETECTORS:
            raise ValueError(
                f"Unknown PII type: {pii_type}. Must be one of {list(BUILTIN_DETECTORS)} "
                "or provide a custom detector."
            )
        return BUILTIN_DETECTORS[pii_type]
    if isinstance(detector, str):
        pattern = re.compile(detector)
        return lambda content: _matches(pattern, content, pii_type)
    custom = detector
    return lambda content: [_normalized(m, pii_type) for m in custom(content)]


@dataclass(frozen=True)
class RedactionRule:
    """How to handle one type of sensitive value (before its detector is resolved)."""

    pii_type: str
    strategy: RedactionStrategy = "redact"
    detector: Detector | str | None = None

    def resolve(self) -> ResolvedRedactionRule:
        """The rule with its detector resolved.

        Raises:
            ValueError: as :func:`resolve_detector`.
        """
        return ResolvedRedactionRule(
            self.pii_type, self.strategy, resolve_detector(self.pii_type, self.detector)
        )


@dataclass(frozen=True)
class ResolvedRedactionRule:
    """A rule ready to run: type name, strategy, detector."""

    pii_type: str
    strategy: RedactionStrategy
    detector: Detector

    def apply(self, content: str) -> tuple[str, list[PIIMatch]]:
        """``content`` with this rule applied, and the matches found.

        Raises:
            PIIDetectionError: the ``block`` strategy and a match.
        """
        matches = self.detector(content)
        if not matches:
            return content, []
        return apply_strategy(content, matches, self.strategy), matches
