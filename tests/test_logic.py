"""The logic tree and requirement composition on the seed gold structure."""

from __future__ import annotations

import pytest

import pipeline
from pipeline.logic import MUST_HAVE, MUST_NOT_HAVE, inline_logic, logic_tree, requirement
from pipeline.schema import Trial


def test_tree_of_nct04270409_has_or_list_and_except_branches(gold):
    trial = Trial.from_dict(gold["001_2342a196f04e89cb"])
    tree = logic_tree(trial.criteria)
    inclusion, exclusion = tree["children"]
    assert inclusion["section"] == "inclusion" and inclusion["op"] == "and"
    assert exclusion["op"] == "not"
    exclusion_or = exclusion["children"][0]
    crab = exclusion_or["children"][0]
    assert crab["op"] == "or" and len(crab["children"]) == 7
    hbv = next(n for n in exclusion_or["children"] if "except" in n)
    assert all(child["criterion"] for child in hbv["except"])


def test_every_criterion_appears_once(gold):
    for g in gold.values():
        trial = Trial.from_dict(g)
        seen = list(_criteria_in(logic_tree(trial.criteria)))
        assert sorted(seen) == sorted(c.id for c in trial.criteria)


def _criteria_in(node):
    if "criterion" in node:
        yield node["criterion"]
    for key in ("children", "except"):
        for child in node.get(key, []):
            yield from _criteria_in(child)


def test_exceptions_to_an_exclusion_are_allowed(gold):
    trial = Trial.from_dict(gold["003_af3fb4ef3103d3e2"])
    by_id = {c.id: c for c in trial.criteria}
    excepted = [
        c for c in trial.criteria if c.exception and by_id[c.parent_id].section == "exclusion"
    ]
    assert excepted
    assert {requirement(c, by_id) for c in excepted} == {MUST_HAVE}
    assert requirement(by_id[excepted[0].parent_id], by_id) == MUST_NOT_HAVE


def _tree(text: str) -> tuple[list, dict]:
    import pipeline

    trial = pipeline.parse(text)
    return trial.criteria, trial.to_dict()["logic_tree"]


def test_at_least_one_of_the_following_is_or(seed_texts):
    criteria, _ = _tree(
        "Inclusion Criteria:\n* Measurable disease defined as at least one of the following:\n\n"
        "* Serum M-protein ≥ 0.5 g/dL\n* Urine M-protein ≥ 200 mg/24 hours\n"
        "* Male or female: Contraceptive use by men or women\n"
    )
    assert [(c.parent_id, c.logic) for c in criteria] == [
        (None, "or"),
        ("c1", None),
        ("c1", None),
        (None, None),
    ]


def test_each_of_the_following_is_and():
    criteria, _ = _tree(
        "Inclusion Criteria:\n* Adequate hepatic function, as evidenced by each of the following:\n"
        "* Bilirubin < 1.5 × ULN; and\n* AST < 2.5 × ULN\n* Able to swallow capsules\n"
    )
    assert [(c.parent_id, c.logic) for c in criteria] == [
        (None, "and"),
        ("c1", None),
        ("c1", None),
        (None, None),
    ]


def test_and_or_chain_is_or():
    criteria, _ = _tree(
        "Inclusion Criteria:\n* Measurable disease, as defined below:\n"
        "* Serum M-protein ≥1 g/dL, AND/OR\n* Urine M-protein ≥200 mg/24 hours\n"
    )
    assert criteria[0].logic == "or"


def test_any_of_the_following_exclusion_list():
    criteria, tree = _tree(
        "Exclusion Criteria:\n* Any of the following within 6 months:\n\n"
        "* Myocardial infarction\n* Unstable angina\n"
    )
    assert criteria[0].logic == "or"
    exclusion = tree["children"][0]["children"][0]
    assert exclusion["children"][0]["op"] == "or"


def test_of_note_items_are_except_branches():
    _, tree = _tree(
        "Exclusion Criteria:\n\n* Active hepatitis C virus infection\n\nOf note:\n\n"
        "* Patients with undetectable HCV RNA are eligible\n"
    )
    node = tree["children"][0]["children"][0]["children"][0]
    assert node["criterion"] == "c1" and node["except"][0]["criterion"] == "c2"


def test_following_are_eligible_after_an_exclusion():
    criteria, _ = _tree(
        "Exclusion Criteria:\n* Prior malignancy. Exceptions include the following (i.e. the "
        "following are eligible to participate):\n\n* Basal cell carcinoma of the skin\n"
        "* Carcinoma in situ of the cervix\n"
    )
    assert [(c.parent_id, c.exception, c.requirement) for c in criteria[1:]] == [
        ("c1", True, "must_have"),
        ("c1", True, "must_have"),
    ]


@pytest.mark.parametrize(
    "line, clause",
    [
        (
            "Prior malignancy, unless treated with curative intent.",
            "unless treated with curative intent",
        ),
        ("Grade ≥ 2 toxicity, except alopecia", "except alopecia"),
        (
            "Any prior therapy, with the exception of bisphosphonates",
            "with the exception of bisphosphonates",
        ),
        # a later clause worded as an exception item ("... are eligible")
        (
            "Uncontrolled or active hepatitis B; patients with resolved infection are eligible",
            "patients with resolved infection are eligible",
        ),
        (
            "Known brain metastases. Patients with treated, stable metastases are eligible.",
            "Patients with treated, stable metastases are eligible",
        ),
    ],
)
def test_inline_exceptions_are_except_clauses(line, clause):
    _, tree = _tree(f"Exclusion Criteria:\n* {line}\n")
    node = tree["children"][0]["children"][0]["children"][0]
    assert node["except"][0]["clause"] == clause


@pytest.mark.parametrize(
    "line",
    [
        "Uncontrolled or active hepatitis B virus infection",
        # the lexicon names "active hepatitis B": the last modifier opens the concept's name
        "Uncontrolled or active hepatitis B",
    ],
)
def test_modifiers_distribute_over_coordination(line):
    import pipeline

    trial = pipeline.parse(f"Exclusion Criteria:\n* {line}\n")
    (entity,) = trial.criteria[0].entities
    assert (entity.modifiers, entity.modifier_logic) == (["uncontrolled", "active"], "or")


@pytest.mark.parametrize(
    "section, intro",
    [
        ("Inclusion", "Patients must not have any of the following:"),
        ("Inclusion", "Should report the absence of:"),
        ("Inclusion", "Patients with none of the following:"),
    ],
)
def test_items_under_a_negated_introduction_must_not_be_had(section, intro):
    """not (X or Y) = not X and not Y: each item is something the patient must not have,
    while the flat entities stay un-negated (screening negates at the introduction)."""
    trial = pipeline.parse(f"{section} Criteria:\n* {intro}\n  * diabetes\n  * asthma\n")
    parent, *items = trial.criteria
    assert parent.negated and parent.requirement == "must_not_have"
    assert [(c.parent_id, c.requirement) for c in items] == [(parent.id, "must_not_have")] * 2
    assert not any(e.negated for c in items for e in c.entities)


def test_items_under_a_plain_introduction_keep_the_section_polarity():
    trial = pipeline.parse("Exclusion Criteria:\n* Any of the following:\n  * stroke\n")
    parent, item = trial.criteria
    assert not parent.negated
    assert item.requirement == "must_not_have"
    trial = pipeline.parse("Inclusion Criteria:\n* All of the following:\n  * stroke\n")
    assert trial.criteria[1].requirement == "must_have"


def test_requirement_survives_a_parent_cycle_in_malformed_input():
    """Trials read back with ``from_dict`` may carry any parent ids: no endless loop."""
    from pipeline.schema import Criterion

    a = Criterion("c1", "exclusion", "x", 0, 1, parent_id="c2", negated=True)
    b = Criterion("c2", "exclusion", "y", 2, 3, parent_id="c1")
    by_id = {"c1": a, "c2": b}
    assert requirement(b, by_id) == MUST_HAVE  # exclusion, flipped once by c1's negation
    assert requirement(a, by_id) == MUST_HAVE  # its own negation; c2 is not negated


@pytest.mark.parametrize(
    "section, line, expected",
    [
        # a rule the patient must follow says the same in either section (NCT05922501)
        ("Exclusion", "Participant must not use contact lenses while participating", MUST_NOT_HAVE),
        ("Inclusion", "Participant must not use contact lenses while participating", MUST_NOT_HAVE),
        ("Inclusion", "Male participants must refrain from donating sperm", MUST_NOT_HAVE),
        # a described state composes with the section: excluded when it holds
        ("Exclusion", "No prior chemotherapy", MUST_HAVE),
        ("Inclusion", "No prior chemotherapy", MUST_NOT_HAVE),
        ("Exclusion", "Patients who did not receive prior chemotherapy", MUST_HAVE),
        ("Exclusion", "Those who doesn't accept contraception", MUST_HAVE),
        # the negation inside a coordinated relative clause is not the statement's
        ("Exclusion", "Subjects who are pregnant or not using contraception", MUST_NOT_HAVE),
    ],
)
def test_deontic_and_descriptive_negation(section, line, expected):
    (c,) = pipeline.parse(f"{section} Criteria:\n* {line}\n").criteria
    assert c.requirement == expected


def test_nct05922501_must_not_rules_under_exclusion(seed_texts):
    trial = pipeline.parse(seed_texts["003_af3fb4ef3103d3e2"])
    rules = [c for c in trial.criteria if c.text.startswith("Participant must not")]
    assert len(rules) == 2
    assert all(c.deontic and c.requirement == MUST_NOT_HAVE for c in rules)


@pytest.mark.parametrize("section", ["Inclusion", "Exclusion"])
def test_items_under_a_must_not_introduction_are_excluded_in_either_section(section):
    text = f"{section} Criteria:\n* Patients must not have any of the following:\n  * stroke\n"
    parent, item = pipeline.parse(text).criteria
    assert parent.deontic and item.requirement == MUST_NOT_HAVE


def _inline(line: str) -> list[tuple[str, str, list[str]]]:
    (c,) = pipeline.parse(f"Inclusion Criteria:\n* {line}\n").criteria
    return [(i["op"], i["source"], [t["text"] for t in i["terms"]]) for i in inline_logic(c)]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Diabetes and/or hypertension", [("or", "coordination", ["Diabetes", "hypertension"])]),
        (
            "Either measurable serum M-protein or urine M-protein",
            [("or", "coordination", ["serum M-protein", "urine M-protein"])],
        ),
        (
            "History of stroke, myocardial infarction, or unstable angina",
            [("or", "coordination", ["stroke", "myocardial infarction", "unstable angina"])],
        ),
        (
            "Both hepatitis B and hepatitis C",
            [("and", "coordination", ["hepatitis B", "hepatitis C"])],
        ),
        ("Neither HIV nor hepatitis", [("or", "coordination", ["HIV", "hepatitis"])]),
        # a comma list says nothing on its own; words between concepts break the run
        ("Diabetes, hypertension", []),
        ("Diabetes treated with insulin or asthma", []),
        # run-in lists: the intro or an item's trailing connective gives the op
        (
            "Patients must have one of the following: a) anemia b) hypercalcemia",
            [("or", "list", ["anemia", "hypercalcemia"])],
        ),
        (
            "Diabetes group: 1) Age between 30-70 years, 2) type 2 diabetes.",
            [("and", "list", ["Age between 30-70 years", "type 2 diabetes"])],
        ),
        (
            "Medical record documentation of either: a) recurrent CDI, b) primary CDI",
            [("or", "list", ["recurrent CDI", "primary CDI"])],
        ),
    ],
)
def test_inline_and_or(line, expected):
    assert _inline(line) == expected


def test_nct05704049_run_in_list_is_an_or_inside_one_statement(seed_texts):
    """The gold keeps "... anti-CD38 treatment if: a) ... or, b) ..." as one statement; its
    tree node says the two conditions are alternatives."""
    trial = pipeline.parse(seed_texts["004_52e4482ea3fe8426"])
    c = next(c for c in trial.criteria if c.text.startswith("Participants with prior anti-CD38"))
    (found,) = [i for i in inline_logic(c) if i["source"] == "list"]
    assert found["op"] == "or"
    first, second = (t["text"] for t in found["terms"])
    assert first.startswith("administered") and first.endswith("as applicable")
    assert second == "Intolerant to the anti-CD38 previously received"
    assert all(trial.source_text[t["start"] : t["end"]] == t["text"] for t in found["terms"])
    node = _find_node(trial.to_dict()["logic_tree"], c.id)
    assert node["inline"][0] == found


def test_a_stray_number_in_brackets_is_no_list():
    from pipeline.coordination import run_in_list
    from pipeline.segment import default_rules

    assert run_in_list("ECOG 0-1 (1) only", default_rules()[1]) is None
    assert run_in_list("Grade b) or c) toxicity", default_rules()[1]) is None


def test_concepts_of_different_kinds_are_not_one_run():
    """NCT05704049: "... premedication with steroids, or intolerance to arginine" joins two
    clauses, not a drug and a condition."""
    from pipeline.coordination import coordinated_terms
    from pipeline.segment import default_rules

    text = "premedication with steroids, or intolerance to arginine"
    spans = [(text.index("steroids"), 27), (text.index("intolerance"), 43)]
    rules = default_rules()[1]
    assert coordinated_terms(text, spans, rules) == [("or", spans)]
    assert coordinated_terms(text, spans, rules, ["DRUG", "CONDITION"]) == []
    assert coordinated_terms(text, spans, rules, ["DRUG", None]) == [("or", spans)]


def _find_node(node: dict, cid: str) -> dict | None:
    if node.get("criterion") == cid:
        return node
    for child in node.get("children", []) + node.get("except", []):
        hit = _find_node(child, cid)
        if hit is not None:
            return hit
    return None


@pytest.mark.parametrize(
    "intro",
    [
        # NCT03863015-style: the exclusion header restated as a negated introduction
        "None of the following criteria must be fulfilled for a subject to be eligible:",
        # NCT03923140-style
        "Patients will not be included if they meet any of the following criteria:",
        "Participants will not be enrolled if any of the following conditions are present:",
    ],
)
def test_negated_eligibility_introductions_keep_items_excluded(intro):
    """Such an introduction says who is excluded; it does not flip its items to must_have,
    and its negation is about inclusion, so the items get no negation pair from it."""
    text = f"Exclusion Criteria:\n* {intro}\n  1. Pregnancy\n  2. Heart failure\n"
    parent, *items = pipeline.parse(text).criteria
    assert parent.negated and parent.deontic
    assert [c.requirement for c in items] == [MUST_NOT_HAVE, MUST_NOT_HAVE]
    assert not any(c.negations for c in items)


@pytest.mark.parametrize(
    "section, line, expected",
    [
        # a negation word inside a pseudo-negation negates nothing (ConText's PSEUDO rules)
        ("Inclusion", "No more than 3 prior lines of therapy", MUST_HAVE),
        ("Inclusion", "Not more than 2 cycles of chemotherapy", MUST_HAVE),
        ("Exclusion", "Active Do Not Resuscitate order", MUST_NOT_HAVE),
        ("Exclusion", "Not only diabetes but also hypertension", MUST_NOT_HAVE),
        ("Exclusion", "Blood pressure is not controlled", MUST_NOT_HAVE),
        # a plain negation still counts
        ("Inclusion", "No prior chemotherapy", MUST_NOT_HAVE),
        ("Inclusion", "Exclusion of other pulmonary disorders", MUST_NOT_HAVE),
    ],
)
def test_pseudo_negations_do_not_negate_the_statement(section, line, expected):
    (c,) = pipeline.parse(f"{section} Criteria:\n* {line}\n").criteria
    assert c.requirement == expected


@pytest.mark.parametrize(
    "exclusion",
    ["Exclusion Criteria:\n* None\n", "Exclusion Criteria:\nN/A\n", "Exclusion Criteria: None.\n"],
)
def test_a_none_placeholder_is_no_criterion(exclusion):
    """ "Exclusion Criteria: None" says there is nothing to exclude; as a statement it was a
    negated exclusion criterion, i.e. something every patient had to have."""
    trial = pipeline.parse(f"Inclusion Criteria:\n* Age 18 years or older\n{exclusion}")
    assert [c.section for c in trial.criteria] == ["inclusion"]


def test_a_first_clause_worded_as_an_exception_is_no_inline_exception():
    """The statement's own main clause is what it says, not an exception to it."""
    _, tree = _tree("Exclusion Criteria:\n* Patients with treated brain metastases are eligible\n")
    node = tree["children"][0]["children"][0]["children"][0]
    assert "except" not in node
