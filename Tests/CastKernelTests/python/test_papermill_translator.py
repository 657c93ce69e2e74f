"""The papermill translator for cast (python/cast_papermill): every value type papermill
passes, the language's escapes, names it refuses, `--help-notebook` inspection, and a round
trip: the cell it writes, run by `cast run`, gives back the values it was given."""
import subprocess

import pytest

pytest.importorskip("cast_papermill", reason="cast_papermill is not installed: run scripts/jupyter-venv.sh")
import nbformat  # noqa: E402
from cast_papermill import CastTranslator  # noqa: E402
from papermill.exceptions import PapermillException  # noqa: E402
from papermill.translators import papermill_translators, translate_parameters  # noqa: E402

from conftest import CAST  # noqa: E402

T = CastTranslator.translate


def test_registered_for_the_cast_language_and_a_kernel_of_any_name():
    import papermill.engines  # noqa: F401  (loads the entry points, as the papermill CLI does)
    assert papermill_translators.find_translator("cast", "cast") is CastTranslator
    assert papermill_translators.find_translator("cast-test", "cast") is CastTranslator


def test_scalars():
    assert T(None) == "none"
    assert T(True) == "true" and T(False) == "false"
    assert T(0) == "0" and T(5) == "5" and T(-3) == "-3"
    assert T(2 ** 60) == str(2 ** 60)
    assert T(0.5) == "0.5" and T(-0.25) == "-0.25"
    assert T(1e-5) == "1e-05" and T(3e-4) == "0.0003" and T(2.5e20) == "2.5e+20"
    assert T(5.0) == "5"


def test_strings_are_quoted_and_escaped_as_the_language_writes_them():
    assert T("") == '""'
    assert T("qwen2.5-0.5b") == '"qwen2.5-0.5b"'
    assert T('say "hi"') == '"say \\"hi\\""'
    assert T("it's") == '"it\'s"'
    assert T("a\\b") == '"a\\\\b"'
    assert T("line\nnext\ttab\rcr\0nul") == '"line\\nnext\\ttab\\rcr\\0nul"'
    assert T("bell\x07 esc\x1b del\x7f") == '"bell\\u{7} esc\\u{1b} del\\u{7f}"'
    assert T("sep\u2028para\u2029") == '"sep\\u{2028}para\\u{2029}"'
    assert T("café ☕ 日本 🙂") == '"café ☕ 日本 🙂"'
    assert T("# not a comment") == '"# not a comment"'
    assert T("${x} {y} %s") == '"${x} {y} %s"'


def test_lists_nest_and_mix_types():
    assert T([]) == "[]"
    assert T([1, "two", [3.5, None], True]) == '[1, "two", [3.5, none], true]'
    assert T(("a", 1)) == '["a", 1]'


def test_values_cast_cannot_hold_are_refused_with_the_reason():
    for bad, why in [(float("nan"), "no literal"), (float("inf"), "no literal"), ({"a": 1}, "no dictionary"),
                     (10 ** 400, "too large"), ("\ud800", "surrogate")]:
        with pytest.raises(PapermillException, match=why):
            T(bad)


def test_parameter_names():
    assert CastTranslator.assign("lora_steps", "30") == "lora_steps = 30"
    for bad in ["true", "none", "not", "def", "None", "2x", "a-b", "a b", ""]:
        with pytest.raises(PapermillException):
            CastTranslator.assign(bad, "1")
    with pytest.raises(PapermillException, match="parameter 'd'"):
        CastTranslator.codify({"ok": 1, "d": {"k": 1}})


def test_the_injected_cell():
    cell = translate_parameters("cast", "cast", {"steps": 5, "model": "qwen2.5-0.5b", "lr": 3e-4,
                                                 "chat": True, "stop": ["\n"], "seed": None}, "Parameters")
    assert cell == ('# Parameters\nsteps = 5\nmodel = "qwen2.5-0.5b"\nlr = 0.0003\nchat = true\n'
                    'stop = ["\\n"]\nseed = none\n')
    assert CastTranslator.comment("two\nlines") == "# two\n# lines"


def test_inspect_reads_the_parameters_cell():
    cell = nbformat.v4.new_code_cell('model = "smollm2-135m"   # the source model\nsteps = 30\n'
                                     'lr = 5e-3  # peak\nchat = false\nstop = ["#", "\\n"]  # stop strings\n'
                                     'seed = none\nx = steps * 2\n# a comment\nprint("not a parameter")')
    params = {p.name: p for p in CastTranslator.inspect(cell)}
    assert list(params) == ["model", "steps", "lr", "chat", "stop", "seed", "x"]
    assert params["model"].inferred_type_name == "string" and params["model"].help == "the source model"
    assert params["model"].default == '"smollm2-135m"'
    assert params["steps"].inferred_type_name == "number" and params["lr"].inferred_type_name == "number"
    assert params["chat"].inferred_type_name == "bool" and params["seed"].inferred_type_name == "none"
    assert params["stop"].inferred_type_name == "list" and params["stop"].default == '["#", "\\n"]'
    assert params["stop"].help == "stop strings"
    assert params["x"].inferred_type_name == "None"


def test_round_trip_through_the_language():
    """What the translator writes, cast reads back as the same values."""
    values = {
        "s": 'quote " backslash \\ tab \t newline \n cr \r nul \0 bell \x07 del \x7f é ☕ 🙂 \u2028',
        "empty": "",
        "n": 42, "neg": -7, "f": 0.1, "tiny": 1e-5, "big": 2.5e20,
        "yes": True, "no": False, "nothing": None,
        "xs": [1, "two", [3.5, None, False]],
        "q": 'quote " backslash \\ tab \t newline \n bell \x07 del \x7f é',
    }
    cell = CastTranslator.codify(values)
    script = cell + "".join(f'print("{name}:", type({name}), str({name}))\n' for name in values if name not in ("s", "q"))
    script += 'print(len(s))\nprint(s)\nprint([q])\n'
    # Bytes, not text mode: universal newlines would turn the \r into \n.
    done = subprocess.run([CAST, "run", "--quiet", "-"], input=script.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    stdout = done.stdout.decode()
    lines = stdout.split("\n")
    expected = {
        "empty": ("string", ""), "n": ("number", "42"), "neg": ("number", "-7"), "f": ("number", "0.1"),
        "tiny": ("number", None), "big": ("number", None), "yes": ("bool", "true"), "no": ("bool", "false"),
        "nothing": ("none", "none"), "xs": ("list", '[1, "two", [3.5, none, false]]'),
    }
    for name, (kind, shown) in expected.items():
        line = next(l for l in lines if l.startswith(name + ":"))
        assert line.split(" ")[1] == kind, line
        if shown is not None:
            assert line.rstrip() == f"{name}: {kind} {shown}".rstrip(), line
    count = next(l for l in lines if l.isdigit())
    assert int(count) == len(values["s"])
    assert values["s"] in stdout
    # The language's own way of writing a string (a list shows its strings quoted) is the
    # translator's, character for character.
    assert "[" + T(values["q"]) + "]" in lines
