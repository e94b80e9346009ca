"""Same-length text clean-up.

Every output offset must index the exact string the caller gave to ``parse``. Instead of
rewriting the text (and mapping offsets back), each clean-up here replaces characters one for
one: a markdown escape ``\\<`` becomes `` <``, a no-break space becomes a space. The cleaned
string has the same length as the original, so offsets found in it hold in the original.
"""

from __future__ import annotations

import re

# Markdown escapes as ClinicalTrials.gov writes them: a backslash before punctuation.
_ESCAPE = re.compile(r"\\(?=[<>\[\]^*_()#+\-.!|{}`~=\\])")
# Spaces that are not ASCII spaces, and zero-width characters, all one code point each.
_ODD_SPACE = re.compile("[\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff\u2060]")


# Full-width ASCII (U+FF01-FF5E, common in text typed with CJK input methods) and modifier
# arrowheads used as comparators, each mapped to its one-character ASCII form.
_ONE_FOR_ONE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x02C2: 0x3C, 0x02C3: 0x3E}


def clean(text: str) -> str:
    """Return ``text`` with escapes and odd spaces blanked, same length and offsets."""
    out = _ESCAPE.sub(" ", text)
    out = _ODD_SPACE.sub(" ", out)
    out = out.translate(_ONE_FOR_ONE)
    if "\r" in out:
        out = out.replace("\r", " ")
    assert len(out) == len(text)  # the invariant every offset relies on
    return out
