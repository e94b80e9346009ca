"""Sections and atomic statements from registry text.

Method: the text is read line by line. Section headers and end markers (``patterns/
sections.json``) delimit the criteria; inside them, every list item (or unbulleted requirement
line) is one atomic statement. Registry pages flatten nested lists, so nesting is rebuilt from
evidence in this order: indentation when the list keeps it, a change of marker kind
(``1.`` then ``a)``), then language cues (``patterns/structure.json``): an item ending in ":"
introduces children; children chained by "or"/"and" end after the last link; "Of note:" makes
the following exception items children of the statement before it; an item that reads like a
new top-level requirement ("Patients must ...", "Male or female: ...") closes the list.

Pages without headers: the bullet blocks before the end marker are the criteria; two blocks
separated by two blank lines are inclusion then exclusion (registry layout), otherwise the
section is ``unknown``.

All functions here are pure and work on plain strings, so they can be tested without spaCy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .errors import PatternError
from .rules import (
    compile_all,
    compile_regex,
    context_rule_list,
    load_rule_file,
    patterns_path,
    require,
)


@dataclass(frozen=True, slots=True)
class Line:
    start: int  # offset of the first character of the line
    end: int  # offset just past its last non-space character
    text: str  # the line without its newline


@dataclass(slots=True)
class Item:
    """A list item or requirement line, before the tree is known."""

    start: int
    end: int
    indent: int
    marker: str | None  # bullet kind: "symbol", "digit", "letter", "roman" or None
    blank_before: bool
    text: str
    block: int = 0


@dataclass(slots=True)
class Statement:
    """An atomic statement with its place in the tree (indices into the statement list)."""

    start: int
    end: int
    section: str
    parent: int | None = None
    logic: str | None = None
    exception: bool = False
    negated: bool = False
    deontic: bool = False  # the negation is a rule to follow ("must not"), see logic.requirement
    children: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SectionRules:
    headers: tuple[tuple[str, re.Pattern[str]], ...]
    end_markers: tuple[re.Pattern[str], ...]
    connectors: tuple[tuple[str, re.Pattern[str]], ...]


@dataclass(frozen=True, slots=True)
class StructureRules:
    bullet: re.Pattern[str]
    intro: re.Pattern[str]
    logic_or: tuple[re.Pattern[str], ...]
    logic_and: tuple[re.Pattern[str], ...]
    chain_or: re.Pattern[str]
    chain_and: re.Pattern[str]
    exception_parent: tuple[re.Pattern[str], ...]
    exception_item: tuple[re.Pattern[str], ...]
    new_top_level: tuple[re.Pattern[str], ...]
    statement_negation: tuple[re.Pattern[str], ...]
    deontic_negation: tuple[re.Pattern[str], ...]
    # "Patients will not be included if ...", "None of the following criteria must be met":
    # a statement about eligibility itself, which states the requirement and negates no item
    eligibility_statement: tuple[re.Pattern[str], ...]
    placeholder: re.Pattern[str]  # "None", "N/A": a line that says there is no criterion
    run_in_marker: re.Pattern[str]  # "a)", "(2)": a list written inside one statement
    run_in_number: re.Pattern[str]  # "1.X 2.Y": a numbered list flattened into one line
    term_or: tuple[re.Pattern[str], ...]  # what joins alternatives: " or ", " and/or ", "/"
    term_and: tuple[re.Pattern[str], ...]
    term_list: re.Pattern[str]  # a comma, which takes the op of the chain's last joiner
    inline_exception: re.Pattern[str]
    measurement: re.Pattern[str]
    sentence_end: re.Pattern[str]
    # ConText's pseudo-negations ("no more than", "not only", "do not resuscitate"), read from
    # context_rules.json beside structure.json: a negation word inside one negates nothing
    pseudo_negation: re.Pattern[str] | None = None


def load_section_rules(path: Path | None = None) -> SectionRules:
    path = path or patterns_path("sections.json")
    body = load_rule_file(path, "sections")
    require(path, "sections", body, ("headers", "end_markers", "connectors"))
    headers = []
    for i, rule in enumerate(body["headers"]):
        require(path, f"headers[{i}]", rule, ("section", "pattern"))
        if rule["section"] not in ("inclusion", "exclusion"):
            raise PatternError(f"{path}: rule 'headers[{i}]': bad section {rule['section']!r}")
        headers.append((rule["section"], compile_regex(path, f"headers[{i}]", rule["pattern"])))
    connectors = []
    for i, rule in enumerate(body["connectors"]):
        require(path, f"connectors[{i}]", rule, ("kind", "pattern"))
        connectors.append((rule["kind"], compile_regex(path, f"connectors[{i}]", rule["pattern"])))
    return SectionRules(
        headers=tuple(headers),
        end_markers=compile_all(path, "end_markers", body["end_markers"]),
        connectors=tuple(connectors),
    )


def load_structure_rules(path: Path | None = None) -> StructureRules:
    path = path or patterns_path("structure.json")
    body = load_rule_file(path, "structure")
    keys = tuple(k for k in StructureRules.__slots__ if k != "pseudo_negation")
    require(path, "structure", body, keys)
    single = (
        "bullet",
        "intro",
        "chain_or",
        "chain_and",
        "inline_exception",
        "measurement",
        "sentence_end",
        "run_in_marker",
        "run_in_number",
        "term_list",
        "placeholder",
    )
    values = {
        k: compile_regex(path, k, body[k]) if k in single else compile_all(path, k, body[k])
        for k in keys
    }
    return StructureRules(**values, pseudo_negation=_pseudo_negations(path.parent))


def _pseudo_negations(folder: Path) -> re.Pattern[str] | None:
    """One pattern of the PSEUDO literals of ``folder/context_rules.json`` (the same words
    ConText passes over), or None when there is no such file."""
    path = folder / "context_rules.json"
    if not path.is_file():
        return None
    rules = context_rule_list(path)
    literals = sorted(
        {
            r["literal"].lower()
            for r in rules
            if r.get("category") == "PSEUDO" and "pattern" not in r and r.get("literal")
        },
        key=len,
        reverse=True,
    )
    if not literals:
        return None
    words = "|".join(r"\s+".join(map(re.escape, lit.split())) for lit in literals)
    return re.compile(rf"(?<![\w-])(?:{words})(?![\w])", re.IGNORECASE)


def statement_negated(text: str, rules: StructureRules) -> bool:
    """Whether a statement is negated as a whole ("No prior X", "Patients who did not ...");
    a negation word inside a pseudo-negation ("No more than 3 prior lines") does not count."""
    pseudo: list[tuple[int, int]] | None = None  # found only once a negation is: most have none
    for pattern in rules.statement_negation:
        m = pattern.search(text)
        if not m:
            continue
        if pseudo is None:
            found = rules.pseudo_negation.finditer(text) if rules.pseudo_negation else ()
            pseudo = [p.span() for p in found]
        if not any(a <= m.end() - 1 < b for a, b in pseudo):
            return True
    return False


@cache
def default_rules() -> tuple[SectionRules, StructureRules]:
    return load_section_rules(), load_structure_rules()


def iter_lines(text: str) -> list[Line]:
    lines = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.rstrip()
        lines.append(Line(pos, pos + len(stripped), raw))
        pos += len(raw) + 1
    return lines


def split_run_in_numbers(line: Line, rules: StructureRules) -> list[Line]:
    """A line holding a numbered list ("1.X 2.Y 3.Z", from text flattened out of a document)
    as one line per item, each at the line's indentation; any other line as it is. The numbers
    must run 1, 2, 3 from the start of the line's content, so "2 cycles. 3 months" is left
    alone."""
    numbers = list(rules.run_in_number.finditer(line.text))
    if len(numbers) < 2:
        return [line]  # most lines: no list to split, and no second bullet match
    m = rules.bullet.match(line.text)
    indent = line.text[: len(line.text) - len(line.text.lstrip())]
    # the list starts the line's content: after a bullet symbol, or as the line's own number
    content = m.end() if m and not m.group("marker")[0].isdigit() else len(indent)
    starts: list[int] = []
    for number in numbers:
        if number.start() < content:
            continue
        if int(number.group(1)) == len(starts) + 1 and (starts or number.start() == content):
            starts.append(number.start())
    if len(starts) < 2:
        return [line]
    out = []
    for a, b in zip(starts, [*starts[1:], len(line.text)], strict=True):
        # each item keeps the line's indentation (so its nesting); the offsets of its text
        # stay those of the document, the indentation only stands before them
        piece = line.text[a:b].rstrip()
        start = line.start + a - len(indent)
        out.append(Line(start, line.start + a + len(piece), indent + piece))
    return out


ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")


def marker_place(label: str) -> tuple[str, int]:
    """A list label's kind and place: ``("digit", 1)`` for "2", ``("roman", 2)`` for "iii",
    ``("letter", 0)`` for "a"; ``("symbol", 0)`` for a bullet."""
    label = label.lower()
    if label.isdigit():
        return "digit", int(label) - 1
    if label in ROMAN:
        return "roman", ROMAN.index(label)
    if len(label) == 1 and label.isalpha():
        return "letter", ord(label) - ord("a")
    return "symbol", 0


def _marker_kind(marker: str) -> str:
    return marker_place(marker.strip("().").rstrip(")"))[0]


def _content(line: Line, rules: StructureRules) -> tuple[int, int, str | None]:
    """(indent, content start offset, marker kind) of a line."""
    m = rules.bullet.match(line.text)
    if m:
        return (
            len(m.group("indent").expandtabs(4)),
            line.start + m.end(),
            _marker_kind(m.group("marker")),
        )
    body = line.text.lstrip()
    return len(line.text) - len(body), line.start + len(line.text) - len(body), None


def _full(patterns: tuple[re.Pattern[str], ...], s: str) -> bool:
    return any(p.fullmatch(s) for p in patterns)


def _any(patterns: tuple[re.Pattern[str], ...], s: str) -> bool:
    return any(p.search(s) for p in patterns)


def _header(rules: SectionRules, s: str) -> str | None:
    for section, pattern in rules.headers:
        if pattern.fullmatch(s):
            return section
    return None


def _header_remainder(rules: SectionRules, body: str) -> int | None:
    """Offset in ``body`` of the statement written after a header's colon on the same line
    ("Inclusion Criteria: should report the absence of:"), or None when there is none."""
    colon = body.find(":")
    if colon < 0 or not _header(rules, body[:colon].strip()):
        return None
    rest = body[colon + 1 :]
    if not rest.strip(" \t:"):
        return None
    return colon + 1 + len(rest) - len(rest.lstrip())


def _connector(rules: SectionRules, s: str) -> str | None:
    for kind, pattern in rules.connectors:
        if pattern.fullmatch(s):
            return kind
    return None


@dataclass(slots=True)
class _Region:
    section: str
    items: list[Item | tuple[str, int]]  # items, or ("exception", position) connectors


def find_regions(
    text: str, rules: tuple[SectionRules, StructureRules] | None = None
) -> list[_Region]:
    """Split ``text`` into criteria regions with their section and raw items."""
    srules, trules = rules or default_rules()
    lines = [part for line in iter_lines(text) for part in split_run_in_numbers(line, trules)]
    kinds: list[tuple[str, object]] = []  # per line: (kind, payload)
    rests: dict[int, int] = {}  # header line -> start of the statement after its colon
    for line in lines:
        s = line.text.strip()
        if not s:
            kinds.append(("blank", None))
            continue
        indent, cstart, marker = _content(line, trules)
        body = text[cstart : line.end].strip()
        bare = body.rstrip(":").strip()
        if not body or trules.placeholder.fullmatch(body):
            # "Exclusion Criteria: * None": no statement, like an empty bullet
            kinds.append(("empty_bullet", None))
        elif _header(srules, bare) or _header(srules, body):
            kinds.append(("header", _header(srules, bare) or _header(srules, body)))
            after = _header_remainder(srules, body)
            if after is not None and not trules.placeholder.fullmatch(body[after:].strip()):
                # "Inclusion Criteria: Age 18 or older" on one line
                rests[len(kinds) - 1] = cstart + after
        elif _full(srules.end_markers, body) or _full(srules.end_markers, bare):
            kinds.append(("end", None))
        elif _connector(srules, body):
            kinds.append(("connector", _connector(srules, body)))
        elif (
            not marker
            and kinds
            and kinds[-1][0] == "header"
            and body[:1].islower()
            and not lines[len(kinds) - 1].text.rstrip().endswith(":")
        ):
            kinds.append(("header_tail", None))  # "Inclusion Criteria (only patients who\n...):"
        else:
            kinds.append(("bullet" if marker else "plain", (indent, cstart, marker)))

    has_headers = any(k == "header" for k, _ in kinds)
    regions: list[_Region] = []
    if has_headers:
        current: _Region | None = None
        for i, (kind, payload) in enumerate(kinds):
            if kind == "header":
                current = _Region(str(payload), [])
                regions.append(current)
                if i in rests:
                    indent = len(lines[i].text) - len(lines[i].text.lstrip())
                    _add(current, "plain", (indent, rests[i], None), lines, i, kinds, text)
            elif kind == "end":
                current = None
            elif current is not None:
                _add(current, kind, payload, lines, i, kinds, text)
        return [r for r in regions if r.items]

    # No headers: the bullet blocks before the first end marker that follows a bullet.
    has_bullets = any(k == "bullet" for k, _ in kinds)
    region = _Region("unknown", [])
    seen_bullet = False
    for i, (kind, payload) in enumerate(kinds):
        if kind == "end" and seen_bullet:
            break
        if kind == "bullet":
            seen_bullet = True
        if has_bullets and kind == "plain" and not seen_bullet:
            continue  # page chrome before the list
        if has_bullets and kind == "plain" and not _continues(kinds, i):
            # plain lines between bullet blocks are chrome unless they introduce a list
            if not trules.intro.search(lines[i].text.rstrip()):
                continue
        _add(region, kind, payload, lines, i, kinds, text)
    if not region.items:
        return []
    blocks = {it.block for it in region.items if isinstance(it, Item)}
    if len(blocks) == 2:
        first = min(blocks)
        inclusion = _Region("inclusion", [])
        exclusion = _Region("exclusion", [])
        for it in region.items:
            block = it.block if isinstance(it, Item) else None
            target = (
                inclusion
                if (block == first or (block is None and not exclusion.items))
                else exclusion
            )
            target.items.append(it)
        return [inclusion, exclusion]
    return [region]


def _continues(kinds: list[tuple[str, object]], i: int) -> bool:
    """A plain line right after a bullet (no blank) continues the bullet's list."""
    return i > 0 and kinds[i - 1][0] == "bullet"


def _add(
    region: _Region,
    kind: str,
    payload: object,
    lines: list[Line],
    i: int,
    kinds: list[tuple[str, object]],
    text: str,
) -> None:
    if kind == "connector":
        region.items.append((str(payload), i))
        return
    if kind not in ("bullet", "plain"):
        return
    indent, cstart, marker = payload  # type: ignore[misc]
    line = lines[i]
    blanks = 0
    j = i - 1
    while j >= 0 and kinds[j][0] in ("blank", "empty_bullet"):
        blanks += kinds[j][0] == "blank"
        j -= 1
    previous = next((it for it in reversed(region.items) if isinstance(it, Item)), None)
    block = previous.block if previous else 0
    if previous is not None and blanks >= 2:
        block += 1
    # A plain, more indented line straight after an item continues that item.
    if (
        kind == "plain"
        and previous is not None
        and blanks == 0
        and kinds[i - 1][0] in ("bullet", "plain")
        and indent > previous.indent
        and lines[i - 1].end == previous.end
    ):
        previous.end = line.end
        previous.text = text[previous.start : previous.end]
        return
    region.items.append(
        Item(cstart, line.end, indent, marker, blanks > 0, text[cstart : line.end], block)
    )


def first_sentence(text: str, rules: StructureRules | None = None) -> str:
    """The text up to its first sentence break: where a statement's main clause lives."""
    m = (rules or default_rules()[1]).sentence_end.search(text)
    return text[: m.start()] if m else text


def _logic_from_intro(text: str, rules: StructureRules) -> str | None:
    if _any(rules.logic_and, text):
        return "and"
    if _any(rules.logic_or, text):
        return "or"
    return None


def _chained(text: str, rules: StructureRules) -> str | None:
    if rules.chain_or.search(text):
        return "or"
    if rules.chain_and.search(text):
        return "and"
    return None


def build_tree(region: _Region, rules: StructureRules) -> list[Statement]:
    """Statements of one region with parents, logic and exceptions (see module docstring)."""
    items = [it for it in region.items if isinstance(it, Item)]
    indents = {it.indent for it in items if it.marker}
    by_indent = len(indents) > 1
    out: list[Statement] = []
    stack: list[int] = []  # open parents, innermost last
    mode: dict[int, str] = {}  # parent index -> "normal" | "note" | "except"
    pending_note = False
    info: dict[int, Item] = {}

    for entry in region.items:
        if not isinstance(entry, Item):
            pending_note = True
            continue
        item = entry
        idx = len(out)
        stmt = Statement(item.start, item.end, region.section)
        info[idx] = item
        if pending_note and out:
            # "Of note:" - what follows qualifies the statement just before it.
            anchor = len(out) - 1
            stack = [p for p in stack if p != anchor] + [anchor]
            mode[anchor] = "note"
            pending_note = False
        while stack and not _is_child(item, stack[-1], out, info, mode, by_indent, rules):
            stack.pop()
        if stack:
            parent = stack[-1]
            stmt.parent = parent
            out[parent].children.append(idx)
            if mode[parent] in ("note", "except") or (
                mode[parent] == "normal"
                and _any(rules.exception_item, first_sentence(item.text, rules))
            ):
                stmt.exception = True
        out.append(stmt)
        if rules.intro.search(item.text):
            stack.append(idx)
            mode[idx] = "except" if _any(rules.exception_parent, item.text) else "normal"

    for idx, stmt in enumerate(out):
        stmt.negated = statement_negated(info[idx].text, rules)
        stmt.deontic = stmt.negated and (
            _any(rules.deontic_negation, info[idx].text)
            or _any(rules.eligibility_statement, info[idx].text)
        )
        if not stmt.children:
            continue
        if mode.get(idx) in ("note", "except"):
            stmt.logic = "or"
            continue
        logic = _logic_from_intro(info[idx].text, rules)
        if logic is None:
            chains = {_chained(info[c].text, rules) for c in stmt.children} - {None}
            logic = "or" if "or" in chains else "and"
        stmt.logic = logic
    return out


def _is_child(
    item: Item,
    parent: int,
    out: list[Statement],
    info: dict[int, Item],
    mode: dict[int, str],
    by_indent: bool,
    rules: StructureRules,
) -> bool:
    p = info[parent]
    kids = [info[c] for c in out[parent].children]
    if mode[parent] == "note":
        if by_indent and item.indent > p.indent:
            return True
        return _any(rules.exception_item, item.text)
    if by_indent and item.marker and p.marker:
        return item.indent > p.indent
    if item.marker and p.marker and item.marker != p.marker:
        # "1." items with "a)" sub-items: a different marker kind is a level change.
        return kids[0].marker == item.marker if kids else True
    if item.marker and p.marker and kids and kids[0].marker != p.marker:
        return False  # back to the parent's own marker kind: a sibling of the parent
    if rules.intro.search(item.text):
        return False  # a new list introducer is a sibling of the open one
    if kids:
        last = _chained(kids[-1].text, rules)
        if last:
            return True
        if any(_chained(k.text, rules) for k in kids):
            return False  # the chain "a; b; and c" ended with c
        if item.blank_before:
            return False
        if _any(rules.new_top_level, item.text.lstrip()):
            return False
        if len(kids) >= 3 and all(rules.measurement.search(k.text) for k in kids):
            # a list of measured definitions (CRAB criteria, measurable disease) ends at the
            # first item that states no limit
            return bool(rules.measurement.search(item.text))
    return True


def split_atomic(
    text: str, rules: tuple[SectionRules, StructureRules] | None = None
) -> list[Statement]:
    """Atomic statements of ``text`` in text order, with parents as indices into the list."""
    rules = rules or default_rules()
    out: list[Statement] = []
    for region in find_regions(text, rules):
        base = len(out)
        for stmt in build_tree(region, rules[1]):
            if stmt.parent is not None:
                stmt.parent += base
            stmt.children = [c + base for c in stmt.children]
            out.append(stmt)
    return out
