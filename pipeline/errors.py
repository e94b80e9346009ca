"""Every exception the library raises on purpose.

Callers catch ``EligibilityError`` for all of them; the CLI turns each into a one-line message
and a non-zero exit code.
"""

from __future__ import annotations


class EligibilityError(Exception):
    """Base class of the pipeline's own errors."""

    exit_code = 1


class InputError(EligibilityError):
    """The input cannot be read as criteria text."""

    exit_code = 2


class EmptyInputError(InputError):
    """The input is empty or holds only whitespace."""


class BinaryInputError(InputError):
    """The input looks like binary data (NUL bytes or mostly control characters)."""


class EncodingError(InputError):
    """The input bytes are not valid UTF-8."""


class InputTooLargeError(InputError):
    """The input is larger than the configured limit."""


class MalformedJSONError(InputError):
    """The input claims to be JSON but does not parse, or lacks the expected fields."""


class PatternError(EligibilityError):
    """A rule or lexicon file in ``patterns/`` is invalid (names the file, rule and value)."""

    exit_code = 3


class UnitError(EligibilityError):
    """A unit string cannot be parsed or converted."""


class ScreeningError(EligibilityError):
    """A patient record cannot be read for screening."""

    exit_code = 2
