"""Fallback ConText targets: which words a negation cue governs when no lexicon names them.

ConText (Harkema et al., J Biomed Inform 2009) only modifies the targets it is given; in
eligibility text the thing negated is often unknown to any lexicon ("No history of xylophonic
dysplasia", "Inability to speak Danish"). These functions pick those words by a shallow
phrase reading, in the spirit of NegEx's scope rules (Chapman et al., 2001): after a forward
cue, the noun phrase the cue governs, past the cue's verb ("unable to perform the 6MWT"
targets "6MWT") and past relational heads ("completion of the study" targets "study"); before
a backward cue ("... are not permitted"), the words right before it.

The functions are pure: they read tokens through the few attributes of ``TokenLike`` (spaCy's
``Token`` has them) and the word lists of ``patterns/targets.json`` (``TargetRules``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

BOUNDARY_TEXT = frozenset({".", ";", ":", "(", ")", "[", "]"})
FALLBACK = "CONCEPT"  # the entity label of the targets these functions find


class TokenLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def lower_(self) -> str: ...
    @property
    def is_punct(self) -> bool: ...
    @property
    def like_num(self) -> bool: ...
    @property
    def is_alpha(self) -> bool: ...
    @property
    def whitespace_(self) -> str: ...


@dataclass(frozen=True, slots=True)
class TargetRules:
    """The word lists of ``patterns/targets.json`` (see its ``description``)."""

    skip: frozenset[str]
    stop: frozenset[str]
    coordinators: frozenset[str]
    predicates: frozenset[str]
    auxiliaries: frozenset[str]
    one_word_cues: frozenset[str]
    modifier_joiners: frozenset[str]  # "or"/"and" between modifiers sharing one head
    fillers: frozenset[str]  # words a coordination reads past ("or have any other")
    relational: frozenset[str]  # "of": "completion of the study" targets the study
    chain: frozenset[str]  # words a cue's reach passes between concepts ("e.g.", "use of")
    heads: frozenset[str]  # head nouns a lexicon concept modifies ("preterm birth study")
    examples: frozenset[str]  # words that introduce examples ("e.g.", "such as")
    causal_cues: frozenset[str]  # cues whose examples name the cause ("precluding MRI (e.g.")
    max_tokens: int
    function_words: frozenset[str]  # skip | stop, kept once: it is read for every token
    passable: frozenset[str]  # coordinators | fillers | relational | chain


def load_target_rules(path: Path) -> TargetRules:
    """Read and check ``targets.json``, once per file version (the fallback targets and
    ConText's negation reach both read it); errors name the file and the key."""
    stat = path.stat() if path.is_file() else None
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size) if stat else (path, 0, 0)
    return _target_rules(*key)


@cache
def _target_rules(path: Path, _mtime: int, _size: int) -> TargetRules:
    from .errors import PatternError
    from .rules import load_rule_file, require

    body = load_rule_file(path, "targets")
    lists = (
        "skip",
        "stop",
        "coordinators",
        "predicates",
        "auxiliaries",
        "one_word_cues",
        "modifier_joiners",
        "fillers",
        "relational",
        "chain",
        "heads",
        "examples",
        "causal_cues",
    )
    require(path, "targets", body, (*lists, "max_tokens"))
    for key in lists:
        if not isinstance(body[key], list) or not all(isinstance(w, str) for w in body[key]):
            raise PatternError(f"{path}: rule 'targets.{key}': expected a list of words")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        raise PatternError(f"{path}: rule 'targets.max_tokens': expected a positive integer")
    words = {key: frozenset(w.lower() for w in body[key]) for key in lists}
    return TargetRules(
        **words,
        max_tokens=body["max_tokens"],
        function_words=words["skip"] | words["stop"],
        passable=words["coordinators"] | words["fillers"] | words["relational"] | words["chain"],
    )


def targets_after(
    tokens: Sequence[TokenLike],
    cue: tuple[int, int],
    limit: int,
    boundaries: frozenset[int] | set[int],
    taken: set[int],
    rules: TargetRules,
    cues: frozenset[int] | set[int] = frozenset(),
) -> list[tuple[int, int]]:
    """Token spans ``(start, end)`` a forward cue ``cue`` governs, up to token ``limit`` (the
    end of its statement), a token of ``boundaries`` (a sentence start) or a clause mark.
    Another cue (a token of ``cues`` starts one) opens a scope of its own: a phrase ends
    before it ("language barriers precluding adequate understanding"), though the cue word
    itself may be the one target ("not willing to suspend").

    Every run of content words between function words, numbers and punctuation is a target,
    so "not cardiopathic, diabetic or ... metabolic disease" gives each concept its own; after
    the first target (a lexicon entity in ``taken`` counts), only coordinated ones follow.
    ``predicates`` ("perform", "fluent") are passed over while more words follow and are the
    target only when nothing does ("inability to sit"). New targets are added to ``taken``.
    """
    start_cue, end = cue
    one_word = " ".join(t.lower_ for t in tokens[start_cue:end]) in rules.one_word_cues
    out: list[tuple[int, int]] = []
    run: list[int] = []
    first_done = False
    passed: int | None = None  # the first predicate passed over
    joined = False  # the last word read was "or", "and" or a comma
    stop = min(limit, end + rules.max_tokens)
    i = end - 1
    while i < stop:
        i += 1
        if i == stop and run and i < limit:
            stop += 1  # the window ends inside a phrase: read the phrase to its end
        token = tokens[i] if i < stop else None
        boundary = (
            token is None
            or i in boundaries
            or token.text in BOUNDARY_TEXT
            or (i in cues and bool(run or first_done))
        )
        word = (
            token is not None
            and not boundary
            and not token.is_punct
            and not token.like_num
            and any(ch.isalpha() for ch in token.text)
            and token.lower_ not in rules.function_words
        )
        if (
            word
            and not one_word
            and not run
            and not first_done
            and token.lower_ in rules.predicates
        ):
            passed = i if passed is None else passed
            continue
        if run and not one_word and token is not None and _inner_hyphen(tokens, i, stop):
            run.append(i)  # "tension-type headache": a hyphenated word is one word
            continue
        if word and i not in taken and not (one_word and run):
            if first_done and not run and not joined:
                break  # "no TB diagnosis": a word right after the first target is not another
            run.append(i)
            continue
        relational = bool(run) and (len(run) == 1 or tokens[run[-1]].lower_ in rules.predicates)
        if relational and not first_done and _of_follows(tokens, i, stop, rules):
            # "completion of the study", "electrocardiographic signs of ischemia": the
            # concept is the complement
            passed = run[0] if passed is None else passed
            run = []
            continue
        lower = token.lower_ if token is not None else ""
        if len(run) == 1 and not first_done and lower in rules.modifier_joiners and i + 1 in taken:
            # "liver or renal dysfunction": the lone word modifies the lexicon concept's head
            run = []
            continue
        if len(run) == 1 and token is not None and _modifies_next(tokens, i, stop, taken, rules):
            # "pelvic or bladder reconstructive surgery": one phrase, one head
            run.append(i)
            continue
        if run and not one_word and i in taken and i == run[-1] + 1 and tokens[run[-1]].whitespace_:
            # "a diagnosis of possible Kawasaki disease": the words right before a lexicon
            # concept modify it; the concept is the target
            run = []
        if run:
            out.append((run[0], run[-1] + 1))
            taken.update(run)
            run = []
            first_done = True
        elif token is not None and i in taken:
            head = None if first_done else _compound_head(tokens, i, limit, taken, rules)
            if head is not None:
                # "another preterm birth study": the concept modifies the head, and the
                # phrase, not the concept, is what the cue negates
                out.append((i, head + 1))
                taken.update(range(i, head + 1))
                i = head
            first_done = True
        if first_done:
            # the window runs on from the last concept of a coordination, not from the cue
            stop = max(stop, min(limit, i + rules.max_tokens))
        if boundary:
            break
        # determiners after a connective keep the coordination open ("diabetic or have any
        # other metabolic disease"); another word ("with", "taking") starts another phrase
        joined = token is not None and (
            lower in rules.coordinators or token.text == "," or (joined and lower in rules.fillers)
        )
        if first_done and token is not None and not joined and i not in taken:
            break  # after the first target, only coordinated ones ("X or Y") follow
    if not first_done and passed is not None and passed not in taken:
        out.append((passed, passed + 1))
        taken.add(passed)
    return out


def targets_before(
    tokens: Sequence[TokenLike],
    cue_start: int,
    first: int,
    boundaries: frozenset[int] | set[int],
    taken: set[int],
    rules: TargetRules,
) -> list[tuple[int, int]]:
    """The words right before a backward cue at ``cue_start`` ("herbal remedies are not
    permitted"), past ``auxiliaries``, not before token ``first`` (the statement start) nor
    into a lexicon entity; then, leftwards, the phrases joined to them by a coordinator, a
    comma or "of" ("strong inducers or inhibitors of CYP3A4 are not permitted" gives
    "CYP3A4", "inhibitors" and "strong inducers"). The spans are added to ``taken``."""
    i = cue_start - 1
    while i >= first and tokens[i].lower_ in rules.auxiliaries:
        i -= 1
    out: list[tuple[int, int]] = []
    while True:
        run: list[int] = []
        while i >= first and len(run) < rules.max_tokens:
            token = tokens[i]
            if (
                i in taken
                or not any(ch.isalpha() for ch in token.text)
                or token.is_punct
                or token.lower_ in rules.function_words
            ):
                break
            run.append(i)
            if i in boundaries:
                break
            i -= 1
        if not run:
            break
        taken.update(run)
        out.append((run[-1], run[0] + 1))
        if run[-1] in boundaries or i < first:
            break
        joiner = tokens[i].lower_
        if not (joiner in rules.coordinators or joiner == "," or joiner in rules.relational):
            break
        i -= 1
    return out


def _inner_hyphen(tokens: Sequence[TokenLike], i: int, stop: int) -> bool:
    """Whether token ``i`` is a hyphen written between two words with no space."""
    return (
        tokens[i].text in ("-", "‐", "‑")
        and i + 1 < stop
        and not tokens[i - 1].whitespace_
        and not tokens[i].whitespace_
        and tokens[i + 1].is_alpha
    )


def _modifies_next(
    tokens: Sequence[TokenLike], i: int, stop: int, taken: set[int], rules: TargetRules
) -> bool:
    """Whether token ``i`` is "or"/"and" followed by a content word and then another content
    word or a lexicon entity ("refractive or ocular surgery")."""
    if tokens[i].lower_ not in rules.modifier_joiners or i + 2 >= stop:
        return False

    def word(j: int) -> bool:
        return tokens[j].is_alpha and tokens[j].lower_ not in rules.function_words

    return i + 1 not in taken and word(i + 1) and (i + 2 in taken or word(i + 2))


def _of_follows(tokens: Sequence[TokenLike], i: int, stop: int, rules: TargetRules) -> bool:
    """Whether a relational word ("of") comes next, past skip words ("evidence of", "of the")."""
    for j in range(i, stop):
        lower = tokens[j].lower_
        if lower in rules.relational:
            return True
        if lower not in rules.skip:
            return False
    return False


def reaches_past(
    words: Sequence[str], in_concept: Sequence[bool], rules: TargetRules, *, causal: bool = False
) -> bool:
    """Whether a forward negation cue reaches a concept when ``words`` (lower case) lie
    between the two, ``in_concept`` marking the words of other concepts.

    The nearest concept is reached unless a coordinator follows the cue at once: in
    "unwillingness or language barriers" the cue is an item of the list. A later one is
    reached only through a
    coordination: every gap between the concepts after the first holds only coordinators,
    fillers, relational and ``chain`` words ("no history of depression or use of
    antidepressants", "no cardiometabolic (e.g. heart disease) illness"), and at most one
    content word ("no HBV booster vaccine", "negative for hepatitis B, C and HIV"). Any other
    word means the later concept belongs to another phrase: in "no documented AF on ECG" the
    ECG is present. This is the coordination reading of NegEx-style scopes (Chapman et al.,
    2001) that ConText's token window lacks.

    With ``causal`` (a cue of ``causal_cues``), examples name the cause, not what it
    prevents, and are not reached: in "medical reasons precluding MRI (e.g. pacemaker)" the
    pacemaker is present. Nor are they after a passive predicate (an auxiliary before the
    first concept: "objects that cannot be removed such as aneurysm clips").
    """
    if words and words[0] in rules.coordinators:
        return False  # "unwillingness or language barriers": the cue is a list item itself
    first = next((i for i, inside in enumerate(in_concept) if inside), None)
    if first is None:
        return True
    # after a passive predicate ("objects that cannot be removed such as aneurysm clips")
    # the examples name the subject, which is present, as after a causal cue
    passive = first > 0 and words[first - 1] in rules.auxiliaries
    passable = rules.passable - rules.examples if causal or passive else rules.passable
    gap: list[str] = []
    for word, inside in zip([*words[first:], ""], [*in_concept[first:], True], strict=True):
        if not inside:
            gap.append(word)
            continue
        other = [k for k, w in enumerate(gap) if w not in passable]
        if other and not (len(other) == 1 and _phrase_word(gap, other[0], rules)):
            return False
        gap = []
    return True


def _phrase_word(gap: Sequence[str], k: int, rules: TargetRules) -> bool:
    """Whether ``gap[k]``, the one content word between two concepts, keeps them together:
    alone ("HBV booster vaccine"), as an item of a list ("hepatitis B, C and HIV") or as the
    modifier of the next concept after a connective ("bone lesion or moderate knee
    osteoarthritis"); never as a verb or preposition ("disorders affecting an exercise
    program")."""
    word = gap[k]
    if not word.isalpha() or word in rules.function_words or word in rules.predicates:
        return False
    if len(gap) == 1:
        return True

    def joins(j: int) -> bool:
        return gap[j] == "," or gap[j] in rules.coordinators

    if k == len(gap) - 1:
        return joins(k - 1)  # "bone lesion or moderate knee osteoarthritis"
    return k > 0 and joins(k - 1) and joins(k + 1)


def _compound_head(
    tokens: Sequence[TokenLike], i: int, limit: int, taken: set[int], rules: TargetRules
) -> int | None:
    """The token of a head noun (``heads``) written right after the lexicon concept that
    starts at token ``i``, if there is one."""
    j = i
    while j < limit and j in taken:
        j += 1
    if j < limit and tokens[j - 1].whitespace_ and tokens[j].lower_ in rules.heads:
        return j
    return None
