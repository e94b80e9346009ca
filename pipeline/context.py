"""medspaCy's ConText (Harkema et al., J Biomed Inform 2009) with the project's rules.

The rules come from ``patterns/context_rules.json`` through the project's checked loader.
Forward negation rules get an ``on_modifies`` callback, medspaCy's hook for deciding each
cue-target edge, that keeps a cue's reach to the nearest concept and the concepts
coordinated with it (``targets.reaches_past``): ConText's token window alone negates
whatever falls inside it ("no documented AF on ECG" would negate the ECG).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Span

from .negation import NEGATION
from .rules import context_rule_list
from .targets import TargetRules, load_target_rules, reaches_past

_IN_ENTITY = (1, 3)  # spaCy's ``Token.ent_iob``: 1 inside, 3 beginning


def coordination_reach(rules: TargetRules) -> Callable[[Span, Span, Span], bool]:
    """The ``on_modifies`` callback of a forward negation rule."""

    def on_modifies(target: Span, modifier: Span, between: Span) -> bool:
        if target.start < modifier.end:
            return True  # a target before the cue (a bidirectional rule) or holding it
        return reaches_past(
            [t.lower_ for t in between],
            [t.ent_iob in _IN_ENTITY for t in between],
            rules,
            causal=modifier[-1].lower_ in rules.causal_cues,
        )

    return on_modifies


def build_context(
    nlp: Language, name: str, rules: str | Path, targets: str | Path, max_targets: int | None
) -> Any:
    """A ConText component whose forward negation rules read coordination."""
    from medspacy.context import ConText, ConTextRule

    context = ConText(nlp, name=name, rules=None, max_targets=max_targets)
    reach = coordination_reach(load_target_rules(Path(targets)))
    loaded = []
    for body in context_rule_list(Path(rules)):
        rule = ConTextRule.from_dict(dict(body))
        if rule.category == NEGATION and rule.direction == "FORWARD":
            rule.on_modifies = reach
        loaded.append(rule)
    context.add(loaded)
    return context
