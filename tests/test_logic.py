"""The logic tree and requirement composition on the seed gold structure."""

from __future__ import annotations

from pipeline.logic import MUST_HAVE, MUST_NOT_HAVE, logic_tree, requirement
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
