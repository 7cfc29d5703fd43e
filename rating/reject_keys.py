"""The `record_id` and `msisdn` of a rejected line, whenever they can be read from its text.

A line is rejected for one bad field (a negative duration, a bad timestamp, a missing
`service`); the analyst who looks for that record looks it up by id, so the dead letter
carries the keys that did read. A line that is JSON gives them from its object (a string,
or an integer written as digits); a line that is not (cut short, a stray quote) gives them
when the key and a quoted value can still be found in the text. Anything else reads as "".
"""
from __future__ import annotations

import json
import re

KEYS = ("record_id", "msisdn")
# `"record_id": "…"` anywhere in a text that is not JSON: the value with its escapes.
_QUOTED = {key: re.compile(rb'"' + key.encode() + rb'"\s*:\s*"((?:[^"\\\r\n]|\\.)*)"') for key in KEYS}


def readable_keys(raw: bytes) -> tuple[str, str]:
    """(record_id, msisdn) as written in the line, "" for each that cannot be read."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _found_in_text(raw)
    if not isinstance(value, dict):
        return "", ""
    return _text(value.get("record_id")), _text(value.get("msisdn"))


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _found_in_text(raw: bytes) -> tuple[str, str]:
    found = []
    for key in KEYS:
        match = _QUOTED[key].search(raw)
        try:
            found.append(json.loads(b'"' + match.group(1) + b'"') if match else "")
        except (ValueError, UnicodeDecodeError):
            found.append("")
    return found[0], found[1]
