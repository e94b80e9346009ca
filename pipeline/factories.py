"""Registration of every component factory, with typed default configs.

Factories are also exposed as ``spacy_factories`` entry points (see ``pyproject.toml``), so a
config naming them loads without importing this package first. Paths in the defaults are
relative to the project's ``patterns/`` folder; configs in ``models/`` hold paths, never rules.
"""

import warnings
from collections.abc import Callable

from spacy.language import Language
from spacy.util import registry

from .components import (
    ConceptMatcher,
    SectionFinder,
    StatementSplitter,
    ThresholdExtractor,
    rule_path,
)
from .rules import tokenizer_infixes

# medspaCy's and scispacy's matchers warn (W036) on every Doc when one of their internal
# matchers has no patterns, which is normal for them; the warning says nothing about ours.
warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)


@Language.factory(
    "eligibility_sections",
    default_config={"sections": "sections.json", "structure": "structure.json"},
)
def make_sections(nlp: Language, name: str, sections: str, structure: str) -> SectionFinder:
    return SectionFinder(nlp, name, sections, structure)


@Language.factory("eligibility_statements", default_config={"structure": "structure.json"})
def make_statements(nlp: Language, name: str, structure: str) -> StatementSplitter:
    return StatementSplitter(nlp, name, structure)


@Language.factory(
    "eligibility_entities",
    default_config={
        "analytes": "analytes.jsonl",
        "concepts": "concepts",
        "targets": "targets.json",
        "cues": "context_rules.json",
        "drugs": "drug_vocabulary.json",
        "plurals": "plurals.json",
    },
)
def make_entities(
    nlp: Language,
    name: str,
    analytes: str,
    concepts: str,
    targets: str,
    cues: str,
    drugs: str,
    plurals: str,
) -> ConceptMatcher:
    """``drugs`` is the external drug vocabulary's rule file and ``plurals`` the lexicon head
    nouns' plurals; "" leaves either out."""
    return ConceptMatcher(nlp, name, analytes, concepts, targets, cues, drugs, plurals)


@Language.factory(
    "eligibility_context",
    default_config={
        "rules": "context_rules.json",
        "targets": "targets.json",
        "max_targets": None,
    },
)
def make_context(nlp: Language, name: str, rules: str, targets: str, max_targets: int | None):  # noqa: ANN201
    """medspaCy's ConText with the project's eligibility rules instead of its defaults;
    ``targets`` holds the words a negation's reach passes between coordinated concepts."""
    from .context import build_context

    return build_context(nlp, name, rule_path(rules), rule_path(targets), max_targets)


@Language.factory(
    "eligibility_thresholds",
    default_config={"comparators": "comparators.json", "analytes": "analytes.jsonl"},
)
def make_thresholds(
    nlp: Language, name: str, comparators: str, analytes: str
) -> ThresholdExtractor:
    return ThresholdExtractor(nlp, name, comparators, analytes)


@Language.factory("eligibility_abbreviations", default_config={"make_serializable": False})
def make_abbreviations(nlp: Language, name: str, make_serializable: bool):  # noqa: ANN201
    """scispacy's AbbreviationDetector (Schwartz & Hearst 2003) under a project name."""
    from scispacy.abbreviation import AbbreviationDetector

    return AbbreviationDetector(nlp, name=name, make_serializable=make_serializable)


@registry.callbacks("eligibility.tokenizer.v1")
def make_tokenizer_infixes(rules: str = "tokenizer.json") -> Callable[[Language], Language]:
    """An ``[nlp.after_creation]`` callback: spaCy's English tokenizer with the infixes of
    ``rules`` added ("BMI>40" is three tokens, so the lexicon can match "BMI")."""
    from spacy.util import compile_infix_regex

    def customize(nlp: Language) -> Language:
        extra = tokenizer_infixes(rule_path(rules))
        infixes = list(nlp.Defaults.infixes or []) + list(extra)
        nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
        return nlp

    return customize
