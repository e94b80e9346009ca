"""``pipeline.targets`` as pure functions: hand-made tokens (no spaCy), the shipped rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipeline.errors import PatternError
from pipeline.rules import patterns_path
from pipeline.targets import load_target_rules, reaches_past, targets_after, targets_before

RULES = load_target_rules(patterns_path("targets.json"))


@dataclass(frozen=True)
class Tok:
    text: str
    whitespace_: str = " "

    @property
    def lower_(self) -> str:
        return self.text.lower()

    @property
    def is_punct(self) -> bool:
        return not any(ch.isalnum() for ch in self.text)

    @property
    def like_num(self) -> bool:
        return self.text.replace(".", "").isdigit()

    @property
    def is_alpha(self) -> bool:
        return self.text.isalpha()


def after(sentence: str, cue_words: int, taken: set[int] | None = None) -> list[str]:
    tokens = [Tok(w) for w in sentence.split()]
    spans = targets_after(tokens, (0, cue_words), len(tokens), set(), taken or set(), RULES)
    return [" ".join(t.text for t in tokens[s:e]) for s, e in spans]


@pytest.mark.parametrize(
    "sentence, cue_words, expected",
    [
        ("no history of xylophonic dysplasia", 3, ["xylophonic dysplasia"]),
        ("unable to perform the pulmonary function tests", 2, ["pulmonary function tests"]),
        ("inability to sit", 2, ["sit"]),
        ("without completion of the study", 1, ["study"]),
        ("not cardiopathic , diabetic or obese", 1, ["cardiopathic", "diabetic", "obese"]),
        (
            "no pelvic or bladder reconstructive surgery",
            1,
            ["pelvic or bladder reconstructive surgery"],
        ),
        ("non metastatic basal cell carcinoma", 1, ["metastatic"]),
        ("no dysphagia ; other disorders", 1, ["dysphagia"]),
        ("no 3 cycles", 1, ["cycles"]),
        # a relational head before "of" passes the concept on to its complement
        ("absence of electrocardiographic signs of ischemia", 2, ["ischemia"]),
        # another negation word ends the phrase ("walk without aids" targets "walk")
        ("unable to walk without aids", 2, ["walk"]),
        # pronouns are not what is negated
        ("preventing them from regional blocks", 1, ["regional blocks"]),
        # "non-" reads the next word even when it is a verb form
        ("non consenting subjects are also excluded", 1, ["consenting"]),
        # determiners after a connective keep the coordination open, and the window runs on
        # from the last concept found (NCT03862937)
        (
            "not cardiopathic , diabetic or any other metabolic disease",
            1,
            ["cardiopathic", "diabetic", "metabolic disease"],
        ),
        # a preposition after the connective starts another construction
        ("not diabetic or with metabolic disease", 1, ["diabetic"]),
    ],
)
def test_targets_after_a_forward_cue(sentence, cue_words, expected):
    assert after(sentence, cue_words) == expected


def test_a_word_right_after_the_first_target_is_not_another():
    # "no TB diagnosis": "TB" (token 1) is a lexicon entity; "diagnosis" is not a target
    assert after("no TB diagnosis", 1, taken={1}) == []
    # ... but a coordinated one is: "no TB or sarcoidosis"
    assert after("no TB or sarcoidosis", 1, taken={1}) == ["sarcoidosis"]


def test_a_lexicon_entity_is_the_first_target():
    # "no myocardial infarction within 6 months": tokens 1-2 are a lexicon entity
    assert after("no myocardial infarction within 6 months", 1, taken={1, 2}) == []
    # ... and a lone modifier before a coordinated lexicon concept is not a concept
    assert after("without liver or renal failure", 1, taken={3, 4}) == []


@pytest.mark.parametrize(
    "sentence, cue_start, expected",
    [
        ("herbal remedies are not permitted", 2, ["herbal remedies"]),
        ("biologic - naive", 2, ["biologic"]),
        ("colonoscopy is not possible", 1, ["colonoscopy"]),
        # NCT03865732: coordinated and "of" phrases before the cue are targets too
        (
            "Concurrent use of strong inducers or inhibitors of CYP3A4/5/7 is not permitted",
            9,
            ["CYP3A4/5/7", "inhibitors", "strong inducers"],
        ),
        # a skip word ends the reach ("use of")
        ("use of cannabis is prohibited", 3, ["cannabis"]),
    ],
)
def test_targets_before_a_backward_cue(sentence, cue_start, expected):
    tokens = [Tok(w) for w in sentence.split()]
    # the cue starts at the first word after the auxiliaries the test names
    spans = targets_before(tokens, cue_start, 0, set(), set(), RULES)
    assert [" ".join(t.text for t in tokens[s:e]) for s, e in spans] == expected


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda body: body.pop("predicates"), "predicates"),
        (lambda body: body.update(skip="a b c"), "targets.skip"),
        (lambda body: body.update(max_tokens=0), "targets.max_tokens"),
    ],
)
def test_bad_rule_file_names_file_and_key(edited_rule_file, change, message):
    path = edited_rule_file("targets.json", change)
    with pytest.raises(PatternError) as err:
        load_target_rules(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_hyphenated_word_stays_one_word():
    """ "nor tension-type headache": the hyphen written without spaces joins the words."""
    tokens = [Tok("nor"), Tok("tension", ""), Tok("-", ""), Tok("type"), Tok("headache")]
    spans = targets_after(tokens, (0, 1), len(tokens), set(), set(), RULES)
    assert [" ".join(t.text for t in tokens[s:e]) for s, e in spans] == ["tension - type headache"]
    # with spaces around it, a dash separates
    spaced = [Tok("nor"), Tok("tension"), Tok("-"), Tok("type"), Tok("headache")]
    spans = targets_after(spaced, (0, 1), len(spaced), set(), set(), RULES)
    assert spans == [(1, 2)]


def reach(between: str, *, causal: bool = False) -> bool:
    """``reaches_past`` over the words between a cue and a concept, concepts in [brackets]."""
    words = between.replace("[", " [ ").replace("]", " ] ").split()
    inside, flags, kept = False, [], []
    for w in words:
        if w in "[]":
            inside = w == "["
            continue
        kept.append(w.lower())
        flags.append(inside)
    return reaches_past(kept, flags, RULES, causal=causal)


@pytest.mark.parametrize(
    "between, reached",
    [
        ("", True),  # the nearest concept
        ("history of", True),
        ("documented [AF] on", False),
        ("documented [AF] on [ECG] ,", False),
        ("history of [depression] or use of", True),
        ("[cardiometabolic] ( e.g. [heart disease] ,", True),
        ("[HBV] booster", True),  # one word of the same phrase
        ("[HBV] booster given since primary", False),
        ("specific [treatment] for", False),
        ("[contraindications] to", False),
        ("[hepatitis B] , C and", True),
        ("[bone lesion] or moderate", True),  # the next concept's modifier
        ("[musculoskeletal disorders] affecting an", False),
        ("or", False),  # "unwillingness or language barriers": the cue is a list item
        ("or unwilling to", False),  # "unable or unwilling to X": the second cue reaches X
        ("be [removed] such as", False),  # a passive predicate's examples name its subject
        ("[therapy] such as", True),  # "no prior therapy such as chemotherapy"
    ],
)
def test_a_cue_reaches_past_coordinated_concepts_only(between, reached):
    assert reach(between) is reached


@pytest.mark.parametrize(
    "between, reached",
    [
        ("[MRI] ( eg ,", False),  # "reasons precluding MRI (eg, pacemaker)"
        ("[participation] ( e.g.", False),
        ("[MRI] or", True),  # "conditions precluding MRI or CT": both are precluded
        ("the use of", True),  # the nearest concept is always reached
    ],
)
def test_examples_after_a_causal_cue_are_not_reached(between, reached):
    assert reach(between, causal=True) is reached
