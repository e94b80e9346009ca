"""Cue-target pairs (``pipeline.negation``) and the fallback targets they rest on, on
hand-written criteria text: each case is a construct, not a document."""

from __future__ import annotations

import pytest

import pipeline
from pipeline.negation import cue_targets
from pipeline.schema import Entity


def pairs(line: str) -> list[tuple[str, str]]:
    trial = pipeline.parse(f"Exclusion Criteria:\n* {line}\n")
    (c,) = trial.criteria
    return [(n["cue"]["text"].lower(), n["target"]["text"]) for n in c.negations]


def negated(line: str) -> set[str]:
    trial = pipeline.parse(f"Exclusion Criteria:\n* {line}\n")
    (c,) = trial.criteria
    return {e.text for e in c.entities if e.negated}


@pytest.mark.parametrize(
    "line, cue, target",
    [
        # the cue governs the object of its verb, not the verb
        ("Unable to perform the pulmonary function tests", "unable to", "pulmonary function tests"),
        ("Inability to comply with study visits", "inability to", "study visits"),
        ("Patients who do not speak Portuguese", "do not", "Portuguese"),
        ("Not participating in another interventional study", "not", "interventional study"),
        # a verb with nothing after it is the target itself
        ("Inability to swallow", "inability to", "swallow"),
        # "X of Y": the complement is the concept
        ("Without a definite diagnosis of gout", "without", "gout"),
        ("Preclude completion of the exercise programme", "preclude", "exercise programme"),
        # a lexicon concept is the first target; the nearest one wins
        ("No history of myocardial infarction or stroke", "no history of", "myocardial infarction"),
        # backward cue with an unknown concept before it, across a hyphen
        ("Biologic-naive patients", "naive", "Biologic"),
        ("Colonoscopy is not possible", "is not possible", "Colonoscopy"),
        # "gestations" is the pregnancy concept (a plural lexicon form); "Multifetal" modifies it
        ("Multifetal gestations are not eligible", "are not eligible", "gestations"),
        # a negated history: the longer cue wins over "prior history of" (historical)
        ("No prior history of tuberculosis", "no prior history of", "tuberculosis"),
        # a state after "not" (a token-pattern rule) looks back to what is absent
        ("Troponin was not measured at admission", "not measured", "Troponin"),
        (
            "Preoperative spirometry would not be feasible",
            "not be feasible",
            "spirometry",
        ),
        # newly general cues
        ("Discontinuation of budesonide", "discontinuation of", "budesonide"),
        ("Insufficient knowledge of the Dutch language", "insufficient", "Dutch language"),
        # the backward cue before it
        ("Herbal remedies are not permitted", "are not permitted", "Herbal remedies"),
    ],
)
def test_each_cue_attaches_to_its_target(line, cue, target):
    assert (cue, target) in pairs(line), pairs(line)


def test_coordinated_modifiers_share_the_head():
    """ "pelvic or bladder reconstructive surgery": the cue's target is the head, and the
    coordinated modifiers stay one negated phrase rather than a target "pelvic"."""
    line = "No history of pelvic or bladder reconstructive surgery"
    assert pairs(line) == [("no history of", "surgery")]
    assert "pelvic" not in negated(line)


@pytest.mark.parametrize(
    "line, cue, word, concept",
    [
        ("Non-metastatic basal cell carcinoma", "non-", "metastatic", "basal cell carcinoma"),
        # written with a space, the prefix still negates one word (NCT03867695)
        ("Non balanced epilepsy", "non", "balanced", "epilepsy"),
        ("Non cryptoglandular fistulas", "non", "cryptoglandular", "fistulas"),
    ],
)
def test_non_prefix_negates_one_word(line, cue, word, concept):
    """ "non-metastatic basal cell carcinoma" is a carcinoma: only "metastatic" is negated."""
    assert pairs(line) == [(cue, word)]
    assert concept not in negated(line)


def test_lone_modifier_before_a_lexicon_concept_is_not_a_target():
    line = "Without liver or renal failure"
    assert "liver" not in negated(line)
    assert pairs(line) == [("without", "renal failure")]


def test_every_concept_in_scope_stays_negated():
    """The pair names one target; screening still needs every negated concept."""
    got = negated("No history of myocardial infarction or stroke")
    assert {"myocardial infarction", "stroke"} <= got
    assert pairs("No history of myocardial infarction or stroke") == [
        ("no history of", "myocardial infarction")
    ]


@pytest.mark.parametrize(
    "line, concept",
    [
        ("Use of non-steroidal anti-inflammatory drugs", "anti-inflammatory drugs"),
        ("Non-surgical periodontal treatment in the last 6 months", "periodontal treatment"),
        ("Triple negative breast cancer", "breast cancer"),
        ("Women of childbearing potential must have a negative pregnancy test", "Women"),
        # names of orders and conditions that contain a negation word
        ("Active Do Not Resuscitate order", "Resuscitate"),
        ("Failure to thrive in the last year", "thrive"),
        ("Known or suspected non-compliance", "compliance"),
        # "with/without X": X is allowed either way
        ("Premature labor with/without ruptured membranes", "ruptured membranes"),
        # a value outside its reference range is abnormal, not absent
        ("TSH pronouncedly outside the reference range", "reference range"),
        # an uncontrolled condition is present, not absent
        ("Hypertension not controlled by medication", "Hypertension"),
        # limits and double negations
        ("Patients 11 to no older than 17 years of age", "older"),
        ("A condition that does not preclude walking on a treadmill", "treadmill"),
    ],
)
def test_compound_terms_are_not_negations(line, concept):
    """ "non-steroidal", "triple negative", "a negative pregnancy test" name a kind of thing
    (or a required result); nothing is absent."""
    got = negated(line)
    assert not any(concept.lower() in text.lower() for text in got), got


@pytest.mark.parametrize(
    "line, verb, target",
    [
        ("Unable to perform the pulmonary function tests", "perform", "pulmonary function tests"),
        # NCT03929289: the language lacked is the target
        ("No fluency in French reading", "fluency", "French reading"),
        # NCT03860389: the child is who is excluded, partaking is how
        (
            "Any medical condition which excludes the child from partaking in exercise",
            "child",
            "exercise",
        ),
    ],
)
def test_verbs_are_not_targets_when_an_object_follows(line, verb, target):
    found = negated(line)
    assert verb not in found
    assert target in found


def entity(text: str, start: int, cue: tuple[int, int], negated: bool = True) -> Entity:
    return Entity(
        text=text,
        label="CONCEPT",
        start=start,
        end=start + len(text),
        negated=negated,
        cues=[
            {
                "category": "NEGATED_EXISTENCE",
                "text": "no",
                "start": cue[0],
                "end": cue[1],
                "rule": "no",
            }
        ],
    )


def test_cue_targets_prefers_the_following_entity_and_the_phrase_head():
    # "no food allergies": adjacent entities, the last is the head
    food, allergies = entity("food", 3, (0, 2)), entity("allergies", 8, (0, 2))
    (pair,) = cue_targets([allergies, food])
    assert pair["target"]["text"] == "allergies"
    assert pair["scope"] == 2
    # "X ... no Y": a following entity beats an equally near one before the cue
    before, after = entity("asthma", 0, (8, 10)), entity("eczema", 11, (8, 10))
    (pair,) = cue_targets([before, after])
    assert pair["target"]["text"] == "eczema"


def test_cue_targets_ignores_entities_that_are_not_negated():
    assert cue_targets([entity("stroke", 3, (0, 2), negated=False)]) == []


@pytest.mark.parametrize(
    "line, cue, target",
    [
        # spaCy splits a contraction ("does" + "n't"); the clitic is the cue (NCT03923894)
        (
            "Those who doesn't accept the implementation of appropriate contraception",
            "n't",
            "contraception",
        ),
        ("Patients who don’t have diabetes", "n’t", "diabetes"),
        # "impossible" looks either way, like "not possible" (NCT03922815)
        ("Conditions that make monitoring using SE sensor impossible", "impossible", "SE sensor"),
        (
            "Significant hearing impairment impeding participation in exercise",
            "impeding",
            "exercise",
        ),
        # stopping something: the same family as "discontinue" (NCT03929328, NCT03866265)
        (
            "Decision to stop life-supportive therapies before enrollment",
            "stop",
            "life-supportive therapies",
        ),
        ("Patients need to be off medication", "be off", "medication"),
        # ruling something out, and calling it off (NCT03920527, NCT03929159)
        (
            "Exclusion of other pulmonary disorders with a similar presentation",
            "exclusion of",
            "pulmonary disorders",
        ),
        ("Cancellation of surgery", "cancellation of", "surgery"),
        # freedom from something is its absence (NCT03865732)
        (
            "> 8 consecutive weeks of seizure freedom during the 12 weeks prior to screening",
            "freedom",
            "seizure",
        ),
        ("At least 6 months of freedom from relapse", "freedom from", "relapse"),
    ],
)
def test_more_cues_attach_to_their_targets(line, cue, target):
    assert (cue, target) in pairs(line)


@pytest.mark.parametrize(
    "line, concept",
    [
        # inability to stop X: two negations, and the patient keeps taking X (NCT03866252)
        ("Unable or unwilling to discontinue antidepressant medication", "antidepressant"),
        ("Refuse to stop warfarin", "warfarin"),
        ("Unwilling to cease intake of fish oil", "fish oil"),
        ("Patients not willing to discontinue warfarin", "warfarin"),
        ("Not able to stop smoking", "smoking"),
        # "stop dates" name a date, not a cessation
        ("Start and stop dates of ceftazidime-avibactam", "ceftazidime"),
    ],
)
def test_double_negations_and_stop_dates_leave_the_concept_affirmed(line, concept):
    trial = pipeline.parse(f"Exclusion Criteria:\n* {line}\n")
    (c,) = trial.criteria
    assert any(concept.lower() in e.text.lower() for e in c.entities)
    assert not any(concept.lower() in e.text.lower() for e in negated(line))
    assert not c.negations


@pytest.mark.parametrize(
    "intro, cue",
    [
        ("should report the absence of:", "absence of"),
        ("Patients must not have any of the following:", "must not have"),
    ],
)
def test_items_under_a_negated_introduction_pair_with_its_cue(intro, cue):
    trial = pipeline.parse(f"Inclusion Criteria: {intro}\n  -  anemia,\n  -  diabetes\n")
    parent, *items = trial.criteria
    assert [(c.parent_id, c.requirement) for c in items] == [(parent.id, "must_not_have")] * 2
    found = [(n["cue"]["text"], n["target"]["text"], n["via"]) for c in items for n in c.negations]
    assert found == [(cue, "anemia", parent.id), (cue, "diabetes", parent.id)]
    assert not any(e.negated for c in items for e in c.entities)  # negated once, at the intro


def test_an_item_with_its_own_negation_keeps_only_its_own_pair():
    trial = pipeline.parse("Inclusion Criteria:\n* Absence of:\n  * anemia\n  * no diabetes\n")
    _, anemia, diabetes = trial.criteria
    assert [n["cue"]["text"] for n in anemia.negations] == ["Absence of"]
    assert [(n["cue"]["text"], "via" in n) for n in diabetes.negations] == [("no", False)]
    # not (anemia or not diabetes): anemia is excluded, diabetes required
    assert (anemia.requirement, diabetes.requirement) == ("must_not_have", "must_have")


@pytest.mark.parametrize(
    "line, concepts",
    [
        # the cue's token window ends before the last drugs; the run carries it (NCT03921203,
        # with the list made longer than the window)
        (
            "The drug must not be an alpha-blocker or beta-blocker or thiazide diuretic or"
            " calcium channel blocker or ACE inhibitor",
            {"calcium channel blocker", "ACE inhibitor"},
        ),
        (
            "The patient does not suffer from chronic anaemia or cholelithiasis or cholecystitis"
            " or pancreatitis or hepatitis",
            {"pancreatitis", "hepatitis"},
        ),
        # determiners after the connective keep the run going (NCT03862937, one more item)
        (
            "Are not cardiopathic, diabetic, obese or have any other metabolic disease.",
            {"metabolic disease"},
        ),
    ],
)
def test_negation_runs_along_a_coordination(line, concepts):
    assert concepts <= negated(line)
    (c,) = pipeline.parse(f"Exclusion Criteria:\n* {line}\n").criteria
    carried = [e for e in c.entities if e.text in concepts]
    assert all(any(k.get("via") == "coordination" for k in e.cues) for e in carried)


def test_a_prefix_negation_does_not_run_along_a_coordination():
    assert "drinker" not in negated("Non-smoker or drinker")


@pytest.mark.parametrize(
    "line, negated_concepts, affirmed",
    [
        # NCT03860038: the bracketed cue has its own concept; the treatment stays required
        (
            "Subject has received anti-myeloma treatment (radiotherapy is excluded) within"
            " 4 weeks or 5 PK half-lives of the treatment",
            {"radiotherapy"},
            {"anti-myeloma treatment"},
        ),
        # with no concept inside the brackets, the cue reaches the one before them
        ("Prior chemotherapy (not permitted within 4 weeks)", {"chemotherapy"}, set()),
        # a cue outside the brackets reaches into them
        (
            "No cardiometabolic (e.g. heart disease, high blood pressure) or inflammatory illness",
            {"heart disease", "high blood pressure"},
            set(),
        ),
    ],
)
def test_a_bracketed_cue_stays_in_its_brackets(line, negated_concepts, affirmed):
    found = negated(line)
    assert negated_concepts <= found
    assert not affirmed & found


def test_a_cue_inside_a_longer_cue_takes_no_target_of_its_own():
    """ "not" in "is not permitted" does not make "permitted" a concept (NCT03865732)."""
    trial = pipeline.parse(
        "Exclusion Criteria:\n* Concurrent use of strong inducers or inhibitors of CYP3A4/5/7"
        " is not permitted\n"
    )
    (c,) = trial.criteria
    assert "permitted" not in {e.text for e in c.entities}
    assert {"strong inducers", "inhibitors", "CYP3A4/5/7"} <= {
        e.text for e in c.entities if e.negated
    }


@pytest.mark.parametrize(
    "line, negated_concepts, affirmed",
    [
        # NCT03860610: the cause after "due to" is present; only the inability is negated
        (
            "Inability to follow procedures due to psychological disorders or dementia",
            {"procedures"},
            {"psychological disorders", "dementia"},
        ),
        # NCT03869905: "except" cuts a short "without" window that lies inside the sentence
        (
            "Ulcerative colitis in stable remission for 3 months or more without therapy or with"
            " a maintenance therapy (except steroids and antibiotics for 3 months)",
            set(),
            {"steroids", "antibiotics"},
        ),
        # NCT03868800: the terminator also ends the search for an unknown target
        (
            "Not able to participate due to cognitive impairment",
            {"participate"},
            {"cognitive impairment"},
        ),
        # NCT03866590: "not due to" negates the cause it names
        (
            "The aetiology of chronic anaemia is determined and is not due to PKD",
            {"PKD"},
            {"anaemia"},
        ),
    ],
)
def test_terminators_end_every_scope(line, negated_concepts, affirmed):
    found = negated(line)
    assert negated_concepts <= found
    assert not affirmed & found


def test_a_terminator_without_a_one_token_scope_is_refused(edited_rule_file):
    from pipeline.errors import PatternError
    from pipeline.rules import context_rule_list

    def widen(rules):
        next(r for r in rules if r["literal"] == "but").pop("max_scope")

    path = edited_rule_file("context_rules.json", widen)
    with pytest.raises(PatternError) as err:
        context_rule_list(path)
    assert str(path) in str(err.value) and "'but'" in str(err.value)


@pytest.mark.parametrize(
    "line, concept",
    [
        # NCT03865732: the seizures are present, their control failed
        ("Failure to control seizures despite 2 or more anti-seizure medications", "seizures"),
        ("Failed to respond to prior bortezomib", "bortezomib"),
    ],
)
def test_failure_to_control_or_respond_leaves_the_concept_present(line, concept):
    (c,) = pipeline.parse(f"Exclusion Criteria:\n* {line}\n").criteria
    assert concept in {e.text for e in c.entities} and concept not in negated(line)
    # the pseudo-negation's own words are no fallback target either
    assert not {"control", "respond"} & {e.text for e in c.entities}


@pytest.mark.parametrize(
    "line, negated_concepts, affirmed",
    [
        # NCT03929718: the ECG is where AF would be documented, not a thing to be without
        (
            "no documented AF on ECG, ambulatory monitor, pacemaker or ICD at any time",
            {"AF"},
            {"ECG", "pacemaker"},
        ),
        # NCT03869476: the treatment is negated, the neoplasms it treats are not
        ("Patient who has not received specific treatment for neoplasms", set(), {"neoplasms"}),
        # NCT03867227: the contraindication is absent; the therapy is not
        (
            "Without contraindications to anticoagulation therapy",
            set(),
            {"anticoagulation therapy"},
        ),
        # NCT03863951: "or use of" continues the coordination
        (
            "has no history of depression or use of antidepressants or antipsychotics",
            {"depression", "antidepressants", "antipsychotics"},
            set(),
        ),
        # NCT03867643: one unknown word inside the phrase keeps it together
        ("No HBV booster vaccine given since primary HBV immunization", {"vaccine"}, set()),
        # NCT03861299: the pacemaker is an example of the reason, and the patient has it
        ("Medical reasons precluding MRI (eg, pacemaker)", {"MRI"}, {"pacemaker"}),
        # NCT03861546: the examples name the illness that prohibits participation
        (
            "end-stage disease or serious illness that prohibits participation (e.g. end-stage"
            " renal disease or class IV congestive heart failure);",
            {"participation"},
            {"end-stage renal disease", "congestive heart failure"},
        ),
        # NCT03862690: "unwillingness" is an item of the list, and the barriers are present
        (
            "Mental incapacity, unwillingness or language barriers precluding adequate"
            " understanding or cooperation",
            {"adequate understanding"},
            {"language barriers", "language barriers precluding adequate understanding"},
        ),
        ("No or minimal alcohol use", set(), {"alcohol use"}),
        # NCT03866564: the objects cannot be removed; the clips, examples of them, are present
        (
            "Ferromagnetic implants or objects that cannot be removed such as aneurysm clips,"
            " surgical clips, prostheses",
            set(),
            {"aneurysm clips"},
        ),
        # NCT03928496: the complaint is like headache pain, which is not absent
        (
            "Severe additional chronic pain complaint which could not be distinguished from"
            " headache pain",
            set(),
            {"headache", "pain", "headache pain"},
        ),
        # NCT03868111: the scale is not understood; the patient's pain is not absent
        ("Patients with an inability to understand the pain scale", {"pain scale"}, {"pain"}),
        # examples after an ordinary cue are examples of what it negates
        (
            "No cardiometabolic (e.g. heart disease, high blood pressure) or inflammatory illness",
            {"heart disease", "high blood pressure"},
            set(),
        ),
    ],
)
def test_a_forward_cue_reaches_only_the_coordinated_concepts(line, negated_concepts, affirmed):
    found = negated(line)
    assert negated_concepts <= found
    assert not affirmed & found


@pytest.mark.parametrize(
    "line, negated_concepts, affirmed, not_concepts",
    [
        # NCT03861130: "possible" modifies the lexicon concept; it is no concept of its own
        (
            "children who do not have a diagnosis of possible Kawasaki disease",
            {"Kawasaki disease"},
            set(),
            {"possible"},
        ),
        # NCT03925519: a participle ends the unknown concept; what it affects is not negated
        (
            "Without any musculoskeletal disorders affecting an exercise program",
            {"musculoskeletal disorders"},
            {"exercise program"},
            {"musculoskeletal disorders affecting"},
        ),
        # NCT03866668: "not otherwise specified" (NOS) is part of a diagnosis, not a negation
        (
            "DSM-5 diagnosis of schizophrenia or psychotic disorder not otherwise specified",
            set(),
            {"psychotic disorder"},
            {"otherwise"},
        ),
        # NCT03863613, NCT03922685: a head noun after the concept makes one phrase with it
        (
            "Not participating in another preterm birth study at the same time",
            {"preterm birth study"},
            {"preterm birth"},
            set(),
        ),
        ("no cholesterol medication", {"cholesterol medication"}, {"cholesterol"}, set()),
        # NCT03866824: a modifier after "or" keeps the coordination going
        (
            "Absence of bone lesion or moderate knee osteoarthritis",
            {"bone lesion", "knee osteoarthritis"},
            set(),
            {"moderate"},
        ),
    ],
)
def test_unknown_concepts_are_phrases_not_modifiers(line, negated_concepts, affirmed, not_concepts):
    (c,) = pipeline.parse(f"Exclusion Criteria:\n* {line}\n").criteria
    found = {e.text for e in c.entities if e.negated}
    assert negated_concepts <= found
    assert not affirmed & found
    assert not not_concepts & {e.text for e in c.entities}


@pytest.mark.parametrize(
    "line, junk",
    [
        # NCT03861572: "did" before the backward-looking words is no concept
        ("Volunteers that did not have Achilles tendon surgical reconstruction", "did"),
        # NCT03863496: a cue word inside a coordination of cues is no concept
        ("Patient unwillingness or inability to follow study procedures", "inability"),
    ],
)
def test_an_unnegated_fallback_concept_is_dropped(line, junk):
    (c,) = pipeline.parse(f"Inclusion Criteria:\n* {line}\n").criteria
    assert junk not in {e.text for e in c.entities}
    assert all(e.negated for e in c.entities if e.label == "CONCEPT")


@pytest.mark.parametrize(
    "line, negated_concepts, not_concepts",
    [
        # NCT03921515: the concept lies seven words after "does not"
        (
            "does not have clinically apparent evidence of an immune defect",
            {"immune defect"},
            set(),
        ),
        # NCT03924011: "e.g." is no concept
        (
            "Inability to follow the procedures of the study, e.g. due to language problems",
            set(),
            {"e.g."},
        ),
        # NCT03922087: the window does not cut a phrase in two
        (
            "Pregnant women who refuse to participate or be unwilling to sign informed consent",
            {"informed consent"},
            {"informed"},
        ),
    ],
)
def test_a_cue_reaches_a_whole_phrase(line, negated_concepts, not_concepts):
    (c,) = pipeline.parse(f"Exclusion Criteria:\n* {line}\n").criteria
    assert negated_concepts <= {e.text for e in c.entities if e.negated}
    assert not not_concepts & {e.text for e in c.entities}
