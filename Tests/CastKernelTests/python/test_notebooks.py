"""The notebooks in notebooks/, run headless as CI and readers run them: the transfer
notebook by `jupyter nbconvert --to notebook --execute`, the quickstart by papermill with
parameters (through the cast translator of python/cast_papermill). Each must finish without
an error output and show what it promises (tables as HTML, plots as SVG, the exported PEFT
folder). The committed copies must carry their outputs, so a reader sees the plots without
running anything."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO

NOTEBOOKS = REPO / "notebooks"
BIN = pathlib.Path(sys.executable).parent


def outputs(cell):
    return cell.get("outputs", [])


def mime_types(cell):
    return {mime for out in outputs(cell) for mime in out.get("data", {})}


def errors(nb):
    return [(i, out.get("ename"), out.get("evalue")) for i, cell in enumerate(nb.cells)
            for out in outputs(cell) if out.get("output_type") == "error"]


def code_cell(nb, starts_with):
    """The first code cell whose source starts with `starts_with`."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(starts_with):
            return cell
    raise AssertionError(f"no code cell starting with {starts_with!r}")


def text(cell):
    return "".join(out.get("text", "") for out in outputs(cell) if out.get("output_type") == "stream")


def result(cell, mime="text/plain"):
    found = [out["data"][mime] for out in outputs(cell) if out.get("output_type") == "execute_result"]
    assert found, f"cell {cell.source[:40]!r} has no result"
    return found[0]


def run(args, cwd, timeout=900):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
    return done


def parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook tags exactly one cell `parameters` (for papermill)"
    return tagged[0]


@pytest.mark.parametrize("name", ["quickstart.ipynb", "cast_transfer.ipynb", "activation_tour.ipynb"])
def test_committed_notebooks_carry_their_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "cast"
    assert nb.metadata["kernelspec"]["language"] == "cast"
    parameters_cell(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell was run (commit the notebook executed)"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run top to bottom, once"
    assert not errors(nb)
    assert any("image/svg+xml" in mime_types(c) for c in code), "a plot is committed as SVG"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells), \
        "commit the source notebook, not a papermill output"


def test_cast_transfer_runs_with_nbconvert(tmp_path):
    shutil.copy(NOTEBOOKS / "cast_transfer.ipynb", tmp_path / "in.ipynb")
    run([BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "out.ipynb",
         "--ExecutePreprocessor.kernel_name=cast-test", "--ExecutePreprocessor.timeout=600", "in.ipynb"], tmp_path)
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert not errors(nb), errors(nb)

    training = code_cell(nb, "l = train_lora(")
    assert "image/svg+xml" in mime_types(training)
    assert "LoRA: 30 steps" in text(training)
    # The live display: one progress output, updated in place, with its final state kept.
    cast_training = code_cell(nb, "c = cast(l")
    progress = [o for o in outputs(cast_training) if o.get("output_type") == "display_data"]
    assert progress and "5/5" in progress[-1]["data"]["text/plain"]
    assert "text/html" in mime_types(cast_training)
    assert "<svg" in result(code_cell(nb, "plot(c"), "image/svg+xml")

    table = code_cell(nb, "x = cross_lora(")
    html = result(table, "text/html")
    assert "<table" in html
    plain = result(table)
    for row in ["none", "lora (trained on arith)", "cross_lora from smollm2-135m", "cast from smollm2-135m (5 steps)"]:
        assert row in plain, plain
    assert "image/svg+xml" in mime_types(code_cell(nb, "kl = ["))

    exported = tmp_path / "out" / "cast-transfer"
    assert (exported / "adapter_config.json").is_file()
    assert (exported / "adapter_model.safetensors").is_file()
    assert "q_proj" in text(code_cell(nb, "# The exported LoRA"))


def test_activation_tour_runs_with_nbconvert(tmp_path):
    shutil.copy(NOTEBOOKS / "activation_tour.ipynb", tmp_path / "in.ipynb")
    run([BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "out.ipynb",
         "--ExecutePreprocessor.kernel_name=cast-test", "--ExecutePreprocessor.timeout=600", "in.ipynb"], tmp_path)
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert not errors(nb), errors(nb)
    assert "<table" in result(code_cell(nb, "m = load("), "text/html")
    assert "participation ratio" in text(code_cell(nb, "p = pca("))
    for start in ["plot(p)", "plot(p, kind", "j = pca("]:
        assert "<svg" in result(code_cell(nb, start), "image/svg+xml")
    cka = code_cell(nb, "c = cka(")
    assert "24 x 30 layers" in text(cka)
    assert "<svg" in result(cka, "image/svg+xml")
    assert "suggested layer map (target:source): 0:" in text(code_cell(nb, 'print("suggested layer map'))


def test_quickstart_runs_with_papermill_parameters(tmp_path):
    pytest.importorskip("cast_papermill", reason="cast_papermill is not installed: run scripts/jupyter-venv.sh")
    prompt = 'Say "bonjour" to\tParis'  # a quote and a tab: the translator escapes both
    run([BIN / "papermill", "-k", "cast-test", "-p", "max_tokens", "6", "-p", "prompt", prompt,
         "--cwd", str(tmp_path), str(NOTEBOOKS / "quickstart.ipynb"), str(tmp_path / "out.ipynb")], tmp_path)
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert not errors(nb), errors(nb)
    index = nb.cells.index(parameters_cell(nb))
    injected = nb.cells[index + 1]
    assert "injected-parameters" in injected.metadata["tags"]
    assert injected.source == '# Parameters\nmax_tokens = 6\nprompt = "Say \\"bonjour\\" to\\tParis"\n'

    generation = code_cell(nb, "r = generate(")
    assert "text/html" in mime_types(generation)
    assert result(code_cell(nb, 'print("stopped because:"')) != '""'
    assert re.search(r"max_tokens\s+number\s+6\b", result(code_cell(nb, "vars()"))), \
        "the injected value replaced the default"
    assert re.search(r"prompt\s+string\s+\"Say", result(code_cell(nb, "vars()")))
    logits_plot = code_cell(nb, 'print("best next token:"')
    assert "<svg" in result(logits_plot, "image/svg+xml")
    assert "text/html" in mime_types(code_cell(nb, "t = tokenize("))
    assert "text/html" in mime_types(code_cell(nb, "m = load("))
