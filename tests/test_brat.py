"""brat standoff round trip: gold -> brat -> gold keeps spans, sections, tree and thresholds."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from evaluation.brat import export_brat, format_note, fragments, import_brat, parse_note
from evaluation.gold import load_gold, validate_trial

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
GOLD = load_gold(CORPUS / "gold")


def _source_text(trial: dict[str, Any]) -> str:
    return (CORPUS / trial["source"]).read_text(encoding="utf-8")


def _scored_fields(trial: dict[str, Any]) -> list[dict[str, Any]]:
    """What the scorer and annotators rely on; ``text`` included (it must equal the slice)."""
    keys = ("id", "section", "text", "start", "end", "parent_id", "logic", "exception", "negated")
    return [
        {**{k: c.get(k) for k in keys}, "thresholds": c["thresholds"]} for c in trial["criteria"]
    ]


@pytest.mark.parametrize("trial_id", sorted(GOLD))
def test_gold_round_trip_preserves_criteria_sections_tree_and_thresholds(
    trial_id: str, tmp_path: Path
) -> None:
    gold = GOLD[trial_id]
    txt, ann = export_brat(gold, _source_text(gold), tmp_path)
    back = import_brat(txt, ann, source=gold["source"])
    validate_trial(back, str(ann))
    assert back["trial_id"] == trial_id
    assert back["source"] == gold["source"]
    assert "import_warnings" not in back
    assert _scored_fields(back) == _scored_fields(gold)


def test_ann_lines_are_brat_standoff(tmp_path: Path) -> None:
    gold = GOLD[sorted(GOLD)[1]]
    _, ann = export_brat(gold, _source_text(gold), tmp_path)
    lines = ann.read_text(encoding="utf-8").splitlines()
    kinds = {line[0] for line in lines}
    assert kinds <= {"T", "A", "R", "#"}
    t_lines = [line.split("\t") for line in lines if line.startswith("T")]
    labels = {cols[1].split()[0] for cols in t_lines}
    assert {"Inclusion", "Exclusion", "Threshold", "Analyte"} <= labels
    text = _source_text(gold)
    for tid, label_offsets, shown in t_lines:  # the shown text is the slice, as brat checks
        pieces = [tuple(map(int, f.split())) for f in label_offsets.split(" ", 1)[1].split(";")]
        assert shown == " ".join(text[s:e] for s, e in pieces), tid
        assert all("\n" not in text[s:e] for s, e in pieces)
    assert any(line.split("\t")[1].startswith("Comparator T") for line in lines if line[0] == "A")
    assert (tmp_path / "annotation.conf").read_text().startswith("[entities]")


def test_predicted_negated_entities_are_exported_with_negated_attribute(tmp_path: Path) -> None:
    text = "Exclusion Criteria:\n* No history of stroke\n"
    start = text.index("No")
    trial = {
        "trial_id": "NCT0001",
        "criteria": [
            {
                "id": "c1",
                "section": "exclusion",
                "text": text[start:-1],
                "start": start,
                "end": len(text) - 1,
                "negated": True,
                "thresholds": [],
                "entities": [
                    {"text": "stroke", "label": "CONDITION", "negated": True,
                     "start": text.index("stroke"), "end": text.index("stroke") + 6},
                    {"text": "history", "label": "CONDITION", "negated": False,
                     "start": text.index("history"), "end": text.index("history") + 7},
                ],
            }
        ],
    }  # fmt: skip
    txt, ann = export_brat(trial, text, tmp_path)
    content = ann.read_text(encoding="utf-8")
    assert "CONDITION" in content and "\tstroke" in content and "history\n" not in content
    back = import_brat(txt, ann)
    (criterion,) = back["criteria"]
    assert criterion["negated"] is True
    at = text.index("stroke")
    assert criterion["entities"] == [
        {"text": "stroke", "label": "CONDITION", "start": at, "end": at + 6, "negated": True}
    ]


def test_corrected_brat_file_is_read_as_the_correction(tmp_path: Path) -> None:
    """An annotator changes a comparator, retypes a unit by hand and flips a section."""
    gold = copy.deepcopy(GOLD[sorted(GOLD)[1]])
    txt, ann = export_brat(gold, _source_text(gold), tmp_path)
    lines = ann.read_text(encoding="utf-8").splitlines()
    first_thr = next(line.split("\t")[0] for line in lines if "\tThreshold " in line)
    edited = []
    for line in lines:
        cols = line.split("\t")
        if (
            line.startswith("A")
            and cols[1].startswith("Comparator ")
            and f" {first_thr} " in cols[1] + " "
        ):
            cols[1] = f"Comparator {first_thr} LT"
        if line.startswith("#") and cols[1].endswith(f" {first_thr}"):
            cols[2] = parse_note_replace(cols[2], "unit", "mg/dL")
        if line.startswith("T1\t"):
            cols[1] = cols[1].replace("Inclusion", "Exclusion", 1)
        edited.append("\t".join(cols))
    ann.write_text("\n".join(edited) + "\n", encoding="utf-8")
    back = import_brat(txt, ann)
    first = back["criteria"][0]
    assert first["section"] == "exclusion"
    thr = next(t for c in back["criteria"] for t in c["thresholds"])
    assert thr["comparator"] == "<"
    assert thr["unit"] == "mg/dL"  # typed bare, without JSON quotes


def parse_note_replace(note: str, key: str, raw: str) -> str:
    values = parse_note(note)
    values.pop(key, None)
    return format_note(values) + f"; {key}={raw}"


def test_note_round_trips_json_values_and_accepts_bare_text() -> None:
    values = {"analyte": "ecog", "value": [0, 1, 2], "unit": None, "condition": "a; b = c"}
    assert parse_note(format_note(values)) == {k: v for k, v in values.items() if v is not None}
    assert parse_note("value=1.5; unit=10^9/L; relative_to=ULN") == {
        "value": 1.5,
        "unit": "10^9/L",
        "relative_to": "ULN",
    }


def test_spans_across_line_breaks_become_fragments() -> None:
    text = "ab\ncd\n\nef"
    assert list(fragments(text, 0, len(text))) == [(0, 2), (3, 5), (7, 9)]


def test_cli_exports_predictions_and_imports_them_as_gold(tmp_path: Path, capsys) -> None:
    """`eligibility brat export` pre-annotates seed text and an API v2 study; `brat import`
    turns the (corrected) pairs back into gold files; a bad file is reported, the rest go on."""
    from pipeline.cli import main

    seed = CORPUS / "seeds" / "001_2342a196f04e89cb.txt"
    study = Path(__file__).parent / "data" / "NCT04270409.json"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    brat_dir, gold_dir = tmp_path / "brat", tmp_path / "gold"
    code = main(["brat", "export", str(seed), str(study), str(bad), "-o", str(brat_dir)])
    err = capsys.readouterr().err
    assert code == 1 and "bad.json" in err and "2 trial(s) written" in err
    assert sorted(p.name for p in brat_dir.glob("*.ann")) == [
        "001_2342a196f04e89cb.ann",
        "NCT04270409.ann",
    ]
    assert main(["brat", "import", str(brat_dir), "-o", str(gold_dir)]) == 0
    back = load_gold(gold_dir)
    assert set(back) == {"001_2342a196f04e89cb", "NCT04270409"}
    # the exported statements and thresholds come back as gold with the same spans
    import pipeline

    pred = pipeline.parse(seed.read_text(encoding="utf-8"), trial_id=seed.stem).to_dict()
    got = back["001_2342a196f04e89cb"]
    assert [(c["start"], c["end"]) for c in got["criteria"]] == [
        (c["start"], c["end"]) for c in pred["criteria"] if c["start"] is not None
    ]
    assert sum(len(c["thresholds"]) for c in got["criteria"]) == sum(
        len(c["thresholds"]) for c in pred["criteria"] if c["start"] is not None
    )


def test_cli_import_of_an_empty_folder_fails_clearly(tmp_path: Path, capsys) -> None:
    from pipeline.cli import main

    assert main(["brat", "import", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    assert "no .txt/.ann pairs" in capsys.readouterr().err
