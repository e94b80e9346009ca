"""The pipeline's spaCy components: thin wrappers around the pure functions of each stage.

Each component reads its rules from ``patterns/`` (through the stage's loader), keeps what it
finds on the Doc as span groups and extension attributes, and can save its rule files with
``to_disk`` / ``from_disk`` so a serialised pipeline carries the exact rules it ran with.

The Doc is always built from ``text.clean(raw)``, which has the raw text's length, so every
character offset on the Doc is an offset into the caller's string.
"""

from __future__ import annotations

import re
import shutil
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from pathlib import Path

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from . import segment, thresholds
from .drug_vocabulary import match_names, read_vocabulary
from .rules import patterns_path
from .targets import FALLBACK, load_target_rules, targets_after, targets_before

# an abbreviation written in capitals ("AIDS", "COPD", "CKD-5"): matched with its case
_ABBREVIATION = re.compile(r"(?=[A-Z0-9-]*[A-Z])[A-Z0-9-]{2,5}")
SECTIONS = "sections"  # doc.spans key: the criteria regions, labelled by section
CRITERIA = "criteria"  # doc.spans key: one span per atomic statement, in text order


_NEWLINE = re.compile("\n")


def doc_text(doc: Doc) -> str:
    """``doc.text``, built once per Doc: spaCy joins every token on each access, and five
    stages read it."""
    text = doc.user_data.get(_TEXT)
    if text is None:
        text = doc.user_data[_TEXT] = doc.text
    return text


_TEXT = "eligibility_text"


def register_extensions() -> None:
    """Custom attributes shared by the components (idempotent)."""
    for name, default in (("statement", None), ("thresholds", None), ("temporal", None)):
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)
    if not Span.has_extension("canonical"):
        Span.set_extension("canonical", default=None)
    if not Span.has_extension("code"):
        Span.set_extension("code", default=None)  # LOINC / SNOMED / RxNorm ... from the lexicon
    if not Doc.has_extension("statements"):
        Doc.set_extension("statements", default=None)
    if not Doc.has_extension("regions"):
        Doc.set_extension("regions", default=None)
    if not Doc.has_extension("raw_text"):
        Doc.set_extension("raw_text", default=None)  # the caller's text, before text.clean


def _resolve(path: str | Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else patterns_path(str(p))


class _RuleFiles:
    """Serialisation shared by components whose state is a set of rule files."""

    files: dict[str, Path]

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        for key, src in self.files.items():
            if src.is_dir():
                shutil.copytree(src, out / key, dirs_exist_ok=True)
            else:
                shutil.copyfile(src, out / key)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> _RuleFiles:
        src = Path(path)
        self.files = {key: src / key for key in self.files}
        self._load()
        return self

    def _load(self) -> None:  # pragma: no cover - each component defines it
        raise NotImplementedError


class SectionFinder(_RuleFiles):
    """Finds the inclusion/exclusion regions (``doc.spans["sections"]``)."""

    def __init__(self, nlp: Language, name: str, sections: str, structure: str) -> None:
        register_extensions()
        self.name = name
        self.files = {"sections.json": _resolve(sections), "structure.json": _resolve(structure)}
        self._load()

    def _load(self) -> None:
        self.rules = (
            segment.load_section_rules(self.files["sections.json"]),
            segment.load_structure_rules(self.files["structure.json"]),
        )

    def add_patterns(self, patterns: list[dict[str, str]]) -> None:
        """Add section headers at run time: ``{"section": ..., "pattern": ...}``."""
        import re

        srules, trules = self.rules
        extra = tuple((p["section"], re.compile(p["pattern"], re.I)) for p in patterns)
        self.rules = (
            segment.SectionRules(srules.headers + extra, srules.end_markers, srules.connectors),
            trules,
        )

    def __call__(self, doc: Doc) -> Doc:
        regions = segment.find_regions(doc_text(doc), self.rules)
        doc._.regions = regions
        spans = []
        for region in regions:
            items = [it for it in region.items if isinstance(it, segment.Item)]
            if items:
                span = doc.char_span(
                    items[0].start, items[-1].end, region.section, alignment_mode="expand"
                )
                if span is not None:
                    spans.append(span)
        doc.spans[SECTIONS] = spans
        return doc


class StatementSplitter(_RuleFiles):
    """One span per atomic statement (``doc.spans["criteria"]``) with its tree attributes.

    Also sets sentence boundaries (each statement, and each sentence inside it, starts a
    sentence) so that ConText scopes stop at statement and clause boundaries.
    """

    def __init__(self, nlp: Language, name: str, structure: str) -> None:
        register_extensions()
        self.name = name
        self.files = {"structure.json": _resolve(structure)}
        self._load()

    def _load(self) -> None:
        self.structure = segment.load_structure_rules(self.files["structure.json"])

    def __call__(self, doc: Doc) -> Doc:
        regions = doc._.regions
        if regions is None:
            regions = segment.find_regions(doc_text(doc))
        statements: list[segment.Statement] = []
        for region in regions:
            base = len(statements)
            for stmt in segment.build_tree(region, self.structure):
                if stmt.parent is not None:
                    stmt.parent += base
                stmt.children = [c + base for c in stmt.children]
                statements.append(stmt)
        doc._.statements = statements
        spans = []
        starts = set()
        for stmt in statements:
            span = doc.char_span(stmt.start, stmt.end, stmt.section, alignment_mode="expand")
            if span is None:
                continue
            span._.statement = stmt
            spans.append(span)
            starts.add(span.start)
        doc.spans[CRITERIA] = spans
        self._set_sentences(doc, starts)
        return doc

    @staticmethod
    def _set_sentences(doc: Doc, starts: set[int]) -> None:
        """Sentence starts computed on arrays and written once (a token loop was a hot spot):
        statement starts, tokens after a line break, and a capitalised word after ".", ";",
        "!" or "?"."""
        import numpy
        from spacy.attrs import IDX, IS_TITLE, IS_UPPER, ORTH, SENT_START

        n = len(doc)
        if n == 0:
            return
        cols = doc.to_array([IDX, IS_TITLE, IS_UPPER]).astype("int64")
        idx, orth = cols[:, 0], doc.to_array([ORTH])
        text = doc_text(doc)
        breaks = numpy.array([m.start() for m in _NEWLINE.finditer(text)], dtype="int64")
        # a line break anywhere from the previous token's start to this token's start
        newline = numpy.zeros(n, dtype=bool)
        if breaks.size:
            seen = numpy.searchsorted(breaks, idx)
            newline[1:] = seen[1:] > seen[:-1]
        stops = {doc.vocab.strings.add(p) for p in (".", ";", "!", "?")}
        after_stop = numpy.zeros(n, dtype=bool)
        after_stop[1:] = numpy.isin(orth[:-1], numpy.array(sorted(stops), dtype="uint64"))
        capital = (cols[:, 1] > 0) | (cols[:, 2] > 0)
        is_start = newline | (after_stop & capital)
        is_start[0] = True
        if starts:
            is_start[[i for i in starts if i < n]] = True
        sent = numpy.where(is_start, 1, -1).astype("int32")
        doc.from_array([SENT_START], sent.reshape(-1, 1).astype("uint64"))
        doc.user_data["sentence_starts"] = frozenset(numpy.flatnonzero(is_start).tolist())


class ConceptMatcher(_RuleFiles):
    """Entities from the lexicons: analytes (``OBSERVATION`` with a canonical name) and the
    concept files of ``patterns/concepts/`` (conditions, drugs, procedures, observations).

    Abbreviations defined in the text ("Absolute neutrophil count (ANC)", found by scispacy's
    AbbreviationDetector when it runs before this component) inherit the long form's concept.
    """

    def __init__(
        self,
        nlp: Language,
        name: str,
        analytes: str,
        concepts: str,
        targets: str,
        cues: str,
        drugs: str = "drug_vocabulary.json",
        plurals: str = "plurals.json",
    ) -> None:
        register_extensions()
        self.name = name
        self.nlp = nlp
        self.files = {
            "analytes.jsonl": _resolve(analytes),
            "concepts": _resolve(concepts),
            "targets.json": _resolve(targets),
            "context_rules.json": _resolve(cues),
        }
        if drugs:  # "" leaves the external drug vocabulary out
            self.files["drug_vocabulary.json"] = _resolve(drugs)
        if plurals:  # "" matches the lexicon terms as written only
            self.files["plurals.json"] = _resolve(plurals)
        self._load()

    def _load(self) -> None:
        from .analytes import load_analytes
        from .concepts import load_concepts
        from .plurals import load_plurals, plural_forms

        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        # abbreviations match as written: "AIDS" is not the "aids" of "smoking cessation aids"
        self.cased_matcher = PhraseMatcher(self.nlp.vocab, attr="ORTH")
        self.surface: dict[str, tuple[str, str]] = {}  # lower-cased surface -> (label, name)
        lexicon = load_analytes(self.files["analytes.jsonl"])
        entries: list[tuple[str, str, str]] = [
            ("OBSERVATION", name, surface) for surface, name in lexicon.terms()
        ]
        concepts = load_concepts(self.files["concepts"])
        # a surface the analyte lexicon names is the analyte's: "SBP" is systolic blood
        # pressure, whatever an observation concept also lists it under
        taken = {surface.lower() for _, _, surface in entries}
        plurals = self.files.get("plurals.json")
        plural_of = load_plurals(plurals) if plurals else {}
        entries += [
            (c.label, c.name, s)
            for c in concepts
            for s in plural_forms(c.surfaces, plural_of)
            if s.lower() not in taken
        ]
        self.codes = {(c.label, c.name): c.code for c in concepts if c.code}
        self.codes.update({("OBSERVATION", a.name): f"LOINC:{a.loinc}" for a in lexicon if a.loinc})
        self.add_patterns(entries)
        self.analytes = lexicon
        self._load_fallback()
        rules = self.files.get("drug_vocabulary.json")
        self.drugs = read_vocabulary(rules) if rules else None
        if self.drugs:
            import numpy
            from spacy.strings import get_string_id

            # the LOWER ids of the words names start with, to find them on token arrays
            ids = sorted({get_string_id(w) for w in self.drugs.first_words})
            self._drug_first_ids = numpy.array(ids, dtype="uint64")

    def _load_fallback(self) -> None:
        """Cues after (or before) which unknown words still become ConText targets."""
        from .rules import context_rule_list

        self.target_rules = load_target_rules(self.files["targets.json"])
        rules = context_rule_list(self.files["context_rules.json"])

        def cue_matcher(direction: str) -> PhraseMatcher:
            """The negation cues that look in ``direction`` (bidirectional ones included)."""
            literals = sorted(
                {
                    r["literal"]
                    for r in rules
                    if r["category"] == "NEGATED_EXISTENCE"
                    and r["direction"] in (direction, "BIDIRECTIONAL")
                }
            )
            matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
            matcher.add("CUE", list(self.nlp.tokenizer.pipe(literals)))
            return matcher

        self.cues = cue_matcher("FORWARD")
        # pseudo-negations ("failure to control", "no more than") hold cue words that are no
        # cue there: found with the forward cues, they only silence the cues inside them
        pseudo = sorted({r["literal"] for r in rules if r["category"] == "PSEUDO"})
        self.cues.add("PSEUDO", list(self.nlp.tokenizer.pipe(pseudo)))
        self._pseudo_id = self.nlp.vocab.strings["PSEUDO"]
        # terminators ("due to", "but") end a cue's reach for fallback targets as they end
        # ConText's scope: in "not able to participate due to cognitive impairment" the
        # target is "participate"
        ends = sorted({r["literal"] for r in rules if r["direction"] == "TERMINATE"})
        self.cues.add("TERMINATE", list(self.nlp.tokenizer.pipe(ends)))
        self._terminate_id = self.nlp.vocab.strings["TERMINATE"]
        self.back_cues = cue_matcher("BACKWARD")

    def add_patterns(self, entries: list[tuple[str, str, str]]) -> None:
        """Add ``(label, canonical name, surface form)`` entries."""
        grouped: dict[str, list[str]] = {}
        for label, name, surface in entries:
            key = f"{label}\t{name}"
            grouped.setdefault(key, []).append(surface)
            self.surface.setdefault(surface.lower(), (label, name))
        for key, surfaces in grouped.items():
            cased = [s for s in surfaces if _ABBREVIATION.fullmatch(s)]
            rest = [s for s in surfaces if not _ABBREVIATION.fullmatch(s)]
            if rest:
                self.matcher.add(key, list(self.nlp.tokenizer.pipe(rest)))
            if cased:
                self.cased_matcher.add(key, list(self.nlp.tokenizer.pipe(cased)))

    def __call__(self, doc: Doc) -> Doc:
        found: list[Span] = []
        for matcher in (self.matcher, self.cased_matcher):
            for match_id, start, end, _crit_end in matches_in_criteria(matcher, doc):
                label, name = doc.vocab.strings[match_id].split("\t", 1)
                found.append(Span(doc, start, end, label=label, kb_id=name))
        found += self._abbreviations(doc)
        # where an analyte and a concept name the same words, the analyte wins (it carries
        # units and thresholds); filter_spans keeps the first of equal-length spans
        found.sort(
            key=lambda span: span.label_ != "OBSERVATION" or not self.analytes.get(span.kb_id_)
        )
        found += self._vocabulary_drugs(doc, found)
        found += self._fallback_targets(doc, found)
        doc.ents = filter_spans(found)
        for ent in doc.ents:
            ent._.canonical = ent.kb_id_
            ent._.code = self.codes.get((ent.label_, ent.kb_id_))
        return doc

    def _vocabulary_drugs(self, doc: Doc, found: list[Span]) -> list[Span]:
        """DRUG spans from the external vocabulary (``pipeline.drug_vocabulary``) where no
        lexicon entity lies: the curated lexicons and the analytes keep their words."""
        if not self.drugs:
            return []
        import numpy
        from spacy.attrs import IDX, LENGTH, LOWER

        if len(doc) == 0:
            return []
        cols = doc.to_array([IDX, LENGTH, LOWER])
        # where a name may start, found on arrays: a Python test per token was a hot spot
        ids = self._drug_first_ids  # sorted: a binary search per token, no set per Doc
        at = numpy.minimum(numpy.searchsorted(ids, cols[:, 2]), len(ids) - 1)
        first = numpy.flatnonzero(ids[at] == cols[:, 2]).tolist()
        if not first:
            return []
        taken = {i for span in found for i in range(span.start, span.end)}
        out = []
        text = doc_text(doc)
        starts = cols[:, 0].tolist()
        ends = (cols[:, 0] + cols[:, 1]).tolist()
        for crit in doc.spans[CRITERIA] if CRITERIA in doc.spans else [doc[:]]:
            lo, hi = bisect_left(first, crit.start), bisect_left(first, crit.end)
            if lo == hi:
                continue
            span = slice(crit.start, crit.end)
            tokens = list(zip(starts[span], ends[span], strict=True))
            cands = [k - crit.start for k in first[lo:hi]]
            for i, j, name in match_names(text, tokens, self.drugs, cands):
                start, end = crit.start + i, crit.start + j
                if taken.isdisjoint(range(start, end)):
                    canonical, code = self.drugs.names[name]
                    out.append(Span(doc, start, end, label="DRUG", kb_id=canonical))
                    if code:
                        self.codes.setdefault(("DRUG", canonical), code)
        return out

    def _fallback_targets(self, doc: Doc, found: list[Span]) -> list[Span]:
        """CONCEPT spans for the words a negation cue governs that no lexicon entity covers
        (``pipeline.targets``): after forward cues, then before backward ones."""
        taken = {i for span in found for i in range(span.start, span.end)}
        boundaries = doc.user_data.get("sentence_starts", frozenset())
        rules = self.target_rules
        forward = matches_in_criteria(self.cues, doc)
        back = matches_in_criteria(self.back_cues, doc)
        # a cue inside a longer one (or inside a pseudo-negation) is not a cue of its own:
        # "not" in "not permitted" would make "permitted" its target
        stops = sorted(m[1] for m in forward if m[0] == self._terminate_id)
        forward = [m for m in forward if m[0] != self._terminate_id]
        spans = [(m[1], m[2]) for m in forward + back]
        forward = [
            m
            for m in forward
            if m[0] != self._pseudo_id
            and not any(s <= m[1] and m[2] <= e and e - s > m[2] - m[1] for s, e in spans)
        ]
        cue_starts = {m[1] for m in forward} | {m[1] for m in back}
        out = []
        for _, start, end, crit_end in forward:
            k = bisect_left(stops, end)
            limit = min(crit_end, stops[k]) if k < len(stops) else crit_end
            found_after = targets_after(
                doc, (start, end), limit, boundaries, taken, rules, cue_starts
            )
            for s, e in found_after:
                out.append(Span(doc, s, e, label=FALLBACK))
        if back:
            starts = [crit.start for crit in doc.spans.get(CRITERIA, [])]
            for _, start, _end, _crit_end in back:
                first = starts[bisect_right(starts, start) - 1]  # the statement's first token
                for s, e in targets_before(doc, start, first, boundaries, taken, rules):
                    out.append(Span(doc, s, e, label=FALLBACK))
        return out

    def _abbreviations(self, doc: Doc) -> list[Span]:
        if not Doc.has_extension("abbreviations"):
            return []
        out = []
        for short in doc._.abbreviations:
            long_form = short._.long_form
            hit = self.surface.get(long_form.text.lower()) if long_form is not None else None
            if hit and short.text.lower() not in self.surface:
                out.append(Span(doc, short.start, short.end, label=hit[0], kb_id=hit[1]))
        return out


class ThresholdExtractor(_RuleFiles):
    """Numeric thresholds of each statement (``span._.thresholds``), normalised to UCUM."""

    def __init__(self, nlp: Language, name: str, comparators: str, analytes: str) -> None:
        register_extensions()
        self.name = name
        self.files = {
            "comparators.json": _resolve(comparators),
            "analytes.jsonl": _resolve(analytes),
        }
        self._load()

    def _load(self) -> None:
        from .analytes import load_analytes

        self.rules = thresholds.load_comparator_rules(self.files["comparators.json"])
        self.analytes = load_analytes(self.files["analytes.jsonl"])
        self.unitless = frozenset(a.name for a in self.analytes if a.unit is None)
        from .units import is_duration

        self.time_analytes = frozenset(a.name for a in self.analytes if is_duration(a.unit))

    def __call__(self, doc: Doc) -> Doc:
        from .measures import build_temporal, build_threshold, restated_temporal
        from .temporal import find_windows, shifted

        full = doc_text(doc)
        raw = doc._.raw_text or full
        criteria = list(doc.spans.get(CRITERIA, []))
        for crit, ents in zip(criteria, ents_by_span(doc, criteria), strict=True):
            base = crit.start_char
            mentions = [
                thresholds.Mention(ent.start_char - base, ent.end_char - base, ent.kb_id_, ent.text)
                for ent in ents
                if self.analytes.get(ent.kb_id_) is not None  # concepts named like an analyte too
            ]
            text = full[crit.start_char : crit.end_char]
            comparisons = thresholds.expand(thresholds.find_comparisons(text, self.rules))
            found = thresholds.attach_analytes(
                text, comparisons, mentions, self.time_analytes, self.unitless, self.rules
            )
            crit._.thresholds = [build_threshold(f, base, self.analytes, raw, text) for f in found]
            windows = [
                item
                for c in comparisons
                if c.temporal
                for item in [
                    build_temporal(c, base, raw, text),
                    *restated_temporal(c, base, raw, text),
                ]
            ]
            # windows without a number: "at the time of signing the informed consent"
            for w in find_windows(text, comparisons=comparisons):
                w = shifted(w, base)
                w["text"] = raw[w["start"] : w["end"]]
                windows.append(w)
            crit._.temporal = sorted(windows, key=lambda w: w["start"])
        return doc


def matches_in_criteria(matcher: PhraseMatcher, doc: Doc) -> list[tuple[int, int, int, int]]:
    """(match id, start, end, end of its criterion) for the matches that lie inside one
    criterion: one matcher call per Doc, not one per criterion."""
    if len(matcher) == 0:
        return []
    owner, ends = _criterion_owner(doc)
    if not ends:
        return []
    out = []
    for match_id, start, end in matcher(doc, as_spans=False):
        k = owner[start]
        if k >= 0 and owner[end - 1] == k:
            out.append((match_id, start, end, ends[k]))
    return out


def _criterion_owner(doc: Doc) -> tuple[list[int], list[int]]:
    """Per token, the index of its criterion (-1 outside any), and each criterion's end;
    computed once per Doc (several matchers ask) and dropped when the criteria change."""
    group = doc.spans.get(CRITERIA)
    key = (id(group), len(group) if group is not None else 0)
    cached = doc.user_data.get("criterion_owner")
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    owner = [-1] * len(doc)
    ends = []
    for k, crit in enumerate(group or []):
        owner[crit.start : crit.end] = [k] * (crit.end - crit.start)
        ends.append(crit.end)
    doc.user_data["criterion_owner"] = (key, owner, ends)
    return owner, ends


def ents_by_span(doc: Doc, spans: list[Span]) -> list[list[Span]]:
    """The entities inside each span, computed once: ``span.ents`` rebuilds ``doc.ents``
    on every call, which made it the pipeline's hot spot."""
    ents = list(doc.ents)
    out: list[list[Span]] = []
    i = 0
    for span in spans:  # both in text order
        while i < len(ents) and ents[i].start < span.start:
            i += 1
        j = i
        inside = []
        while j < len(ents) and ents[j].start < span.end:
            if ents[j].end <= span.end:
                inside.append(ents[j])
            j += 1
        out.append(inside)
    return out


def rule_path(name: str) -> Path:
    """A rule file named in a config: as given when absolute, else under ``patterns/``."""
    return _resolve(name)
