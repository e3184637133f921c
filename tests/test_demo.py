"""The demo's advice names a spec file it wrote, so its commands run as printed (the whole demo
needs the lab: tests/lab/test_demo.py)."""

from __future__ import annotations

from pathlib import Path

from crossfade.demo import EXAMPLE_FACTS, EXAMPLE_SPEC, advise_on_example_facts
from crossfade.lab.control import lab_spec
from crossfade.spec.load import load_spec
from tests.advise.commands import shown_commands


def test_the_advice_commands_name_the_example_spec_the_demo_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "crossfade demo"  # a space: the commands quote it
    advice = advise_on_example_facts(folder, tmp_path / "model", [])
    spec_file = folder / EXAMPLE_SPEC
    expected = lab_spec(tmp_path / "model").model_copy(update={"deployment": EXAMPLE_FACTS})
    assert load_spec(spec_file) == expected
    assert spec_file.read_text().startswith("# crossfade demo: the lab's spec, with example")
    commands = shown_commands(advice.next_steps)
    assert ["crossfade", "render", "triton", str(spec_file), "-o", "model_repos"] in commands
    for argv in commands:
        if argv[1] in ("render", "advise"):
            assert Path(argv[3 if argv[1] == "render" else 2]).is_file(), argv
    assert not any("(example deployment facts" in step for step in advice.next_steps)
