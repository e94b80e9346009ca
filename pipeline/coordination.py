"""Modifiers distributed over a coordination: "uncontrolled or active hepatitis B" means
(uncontrolled hepatitis B) OR (active hepatitis B).

A pure function over the text before an entity, with the modifier words as data
(``patterns/modifiers.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .rules import load_rule_file, patterns_path, require


@dataclass(frozen=True, slots=True)
class ModifierRules:
    pattern: re.Pattern[str]  # the coordinated modifiers right before a concept


def load_modifier_rules(path: Path | None = None) -> ModifierRules:
    path = path or patterns_path("modifiers.json")
    body = load_rule_file(path, "modifiers")
    require(path, "modifiers", body, ("words", "joiners"))
    words = "|".join(re.escape(w) for w in sorted(body["words"], key=len, reverse=True))
    joiners = "|".join(re.escape(j) for j in sorted(body["joiners"], key=len, reverse=True))
    one = rf"(?:{words})"
    pattern = re.compile(rf"(?<![\w-])({one}(?:\s*(?:{joiners})\s*{one})+)\s+$", re.IGNORECASE)
    return ModifierRules(pattern)


@cache
def default_modifier_rules() -> ModifierRules:
    return load_modifier_rules()


def distributed_modifiers(
    text: str, start: int, rules: ModifierRules | None = None
) -> tuple[list[str], str | None]:
    """The coordinated modifiers that end right before ``text[start]``, and how they combine.

    ``("Known uncontrolled or active hepatitis B", 28)`` -> ``(["uncontrolled", "active"], "or")``;
    a single modifier is part of the concept's own name and gives ``([], None)``.
    """
    rules = rules or default_modifier_rules()
    m = rules.pattern.search(text, max(0, start - 80), start)
    if not m:
        return [], None
    phrase = m.group(1)
    parts = [
        p.strip() for p in re.split(r"\s*(?:,|\band/or\b|\bor\b|\band\b)\s*", phrase) if p.strip()
    ]
    logic = "or" if re.search(r"\bor\b", phrase, re.I) else "and"
    return [p.lower() for p in parts], logic
