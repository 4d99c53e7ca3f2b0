"""Restart & Run All on an untouched release reaches every widget, and each widget says what to implement.

The released notebook (nbgrader's generate_assignment of the built source)
runs in its own kernel under nbclient with ``allow_errors=False``: like
JupyterLab's Run All, nbclient goes on past an error only in a cell tagged
``raises-exception``, so any untagged cell that raises fails the test. The
widgets are then read back from the widget state nbclient stores in the
notebook, as a browser would render them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dlcourse.build import RAISES_TAG, build_course
from dlcourse.coursedir import init_course
from dlcourse.manager import BUILTIN_TOPICS, Hooks
from dlcourse.nbgrader_ops import generate_assignment

pytestmark = pytest.mark.slow

SLUGS = [t.slug for t in Hooks.load().topics() if t.plugin in BUILTIN_TOPICS]
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"


def _models(notebook: nbformat.NotebookNode, model_id: str) -> list[dict]:
    """Model ``model_id`` and the models it refers to (children, styles), as nbclient stored them."""
    state = notebook.metadata["widgets"][STATE]["state"]
    seen, pending, found = set(), [model_id], []
    while pending:
        current = pending.pop()
        if current in seen or current not in state:
            continue
        seen.add(current)
        found.append(state[current])
        for value in state[current]["state"].values():
            values = value if isinstance(value, list) else [value]
            pending += [v.removeprefix("IPY_MODEL_") for v in values if isinstance(v, str) and
                        v.startswith("IPY_MODEL_")]
    return found


def _release(slug: str, tmp_path: Path) -> Path:
    course = init_course(tmp_path / "course")
    build_course(course, [slug])
    return generate_assignment(course, slug) / f"{slug}.ipynb"


@pytest.mark.parametrize("slug", SLUGS)
def test_run_all_on_an_untouched_release_reaches_every_widget(slug, tmp_path):
    path = _release(slug, tmp_path)
    notebook = nbformat.read(path, as_version=4)
    # the course's widget cells: not graded, and they build a widget of the topic
    widget_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
                    and cell.metadata.get("dlcourse", {}).get("skip_grading")
                    and f"dlcourse_{slug}.widgets import" in cell.source]
    assert widget_cells, f"{slug}: no widget cell in the release"
    assert any(RAISES_TAG in cell.metadata.get("tags", []) for cell in notebook.cells)
    # raises CellExecutionError at the first untagged cell that raises
    NotebookClient(notebook, timeout=120, allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    stubbed = [cell for cell in notebook.cells if cell.cell_type == "code" and
               any(o.output_type == "error" and o.ename == "NotImplementedError" for o in cell.outputs)]
    assert stubbed, "an untouched release should stop in its public tests"
    for index in widget_cells:
        cell = notebook.cells[index]
        assert cell.get("execution_count"), f"cell {index} never ran"
        assert not [o for o in cell.outputs if o.output_type == "error"], f"cell {index} raised"
        views = [o.data[VIEW]["model_id"] for o in cell.outputs if VIEW in o.get("data", {})]
        assert views, f"cell {index} shows no widget: {[o.get('text') for o in cell.outputs]}"
        models = _models(notebook, views[0])
        texts = " ".join(m["state"].get("value", "") for m in models if m["model_name"] == "HTMLModel")
        assert "mplement" in texts, f"cell {index}: the widget does not say what to implement: {texts!r}"
        widths = {m["state"].get("description_width") for m in models if "description_width" in m["state"]}
        assert widths == {"initial"}, f"cell {index}: labels may be cut off ({widths})"
