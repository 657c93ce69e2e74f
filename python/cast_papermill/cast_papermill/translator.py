"""The papermill translator for the cast language (docs/language.md): values as the
language writes them, one `name = value` line each, under a `# Parameters` comment."""
import math
import re

from papermill.exceptions import PapermillException
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators

# The language's reserved words (true false none and or not), and the words of other
# languages it refuses as names (Sources/CastScript/Token.swift).
RESERVED = {
    "true", "false", "none", "and", "or", "not",
    "if", "else", "elif", "for", "while", "in", "def", "fn", "func", "return",
    "let", "var", "import", "lambda", "class", "null", "nil", "True", "False", "None",
}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Escapes the lexer reads back to the same character.
ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


class CastTranslator(Translator):
    """Writes papermill parameters in cast syntax."""

    @classmethod
    def translate_escaped_str(cls, str_val):
        """A double-quoted cast string. Control characters without a short escape (and
        U+2028/U+2029, which editors treat as line breaks) become `\\u{…}`; everything else
        is kept as it is (the lexer reads UTF-8)."""
        out = []
        for ch in str(str_val):
            code = ord(ch)
            if ch in ESCAPES:
                out.append(ESCAPES[ch])
            elif 0xD800 <= code <= 0xDFFF:
                raise PapermillException(f"cast strings hold Unicode scalars: {str_val!r} has a lone surrogate")
            elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029):
                out.append(f"\\u{{{code:x}}}")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'

    @classmethod
    def translate_str(cls, val):
        return cls.translate_escaped_str(val)

    @classmethod
    def translate_none(cls, val):
        return "none"

    @classmethod
    def translate_bool(cls, val):
        return "true" if val else "false"

    @classmethod
    def translate_int(cls, val):
        # Written in full; the language reads it as the nearest 64-bit float (exact up to 2^53).
        try:
            float(val)
        except OverflowError:
            raise PapermillException(f"{val} is too large for a cast number") from None
        return str(val)

    @classmethod
    def translate_float(cls, val):
        if math.isnan(val) or math.isinf(val):
            raise PapermillException(f"cast has no literal for {val!r}: pass a finite number")
        if val.is_integer() and abs(val) < 1e16:
            return str(int(val))  # 5.0 → 5, as the language prints it
        return repr(val)  # shortest round-trip form: 0.1, 1e-05, 2.5e+20 (all cast literals)

    @classmethod
    def translate_list(cls, val):
        return "[" + ", ".join(cls.translate(v) for v in val) + "]"

    @classmethod
    def translate_dict(cls, val):
        raise PapermillException(
            "cast has no dictionary value: pass the entries as separate parameters, or as a list of [key, value] pairs")

    @classmethod
    def translate(cls, val):
        if isinstance(val, tuple):
            return cls.translate_list(list(val))
        return super().translate(val)

    @classmethod
    def comment(cls, cmt_str):
        return "\n".join(f"# {line}".rstrip() for line in str(cmt_str).splitlines() or [""])

    @classmethod
    def assign(cls, name, str_val):
        if not NAME.match(name):
            raise PapermillException(f"'{name}' is not a cast name: letters, digits and _, not starting with a digit")
        if name in RESERVED:
            raise PapermillException(f"'{name}' is a reserved word in cast: choose another parameter name")
        return f"{name} = {str_val}"

    @classmethod
    def codify(cls, parameters, comment="Parameters"):
        lines = [cls.comment(comment)]
        for name, val in parameters.items():
            try:
                lines.append(cls.assign(name, cls.translate(val)))
            except PapermillException as error:
                raise PapermillException(f"parameter '{name}': {error}") from None
        return "\n".join(lines) + "\n"

    # -- papermill --help-notebook: what the parameters cell declares

    @classmethod
    def inspect(cls, parameters_cell):
        """Each `name = value  # help` line of the cell as a Parameter (name, inferred type,
        default as written, help). Lines it cannot read are skipped."""
        found = []
        for line in parameters_cell.source.splitlines():
            match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", line)
            if not match:
                continue
            name, rest = match.groups()
            value, help_text = split_comment(rest)
            if not value:
                continue
            found.append(Parameter(name=name, inferred_type_name=infer_type(value), default=value, help=help_text))
        return found


def split_comment(text):
    """`value  # comment` → ("value", "comment"), leaving a # inside a string alone."""
    quote = None
    escaped = False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return text[:i].strip(), text[i + 1:].strip()
    return text.strip(), ""


def infer_type(value):
    """The cast type a literal's text names, or "None" (papermill's "unknown")."""
    if value in ("true", "false"):
        return "bool"
    if value == "none":
        return "none"
    if value[:1] in "\"'":
        return "string"
    if value[:1] == "[":
        return "list"
    if re.fullmatch(r"-?[0-9][0-9_]*(\.[0-9_]+)?([eE][+-]?[0-9]+)?", value):
        return "number"
    return "None"


def register():
    """Registers the translator for the language `cast` (and the kernel name `cast`)."""
    papermill_translators.register("cast", CastTranslator)


register()
