"""The scripts in examples/ as a new user runs them: each imports against the current API (names it
takes from qgeom still exist), and the one fast enough for the suite (band_geometry_maps, ~2 s) runs
whole, without warnings, printing the Chern number of a closed-form invariant. The others take 4 s to
1.5 min (their docstrings say how long) and are run by hand."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py")) + sorted(EXAMPLES.glob("*/*.py"))


def load(path: Path, monkeypatch):
    """The script as a module (its `if __name__ == "__main__"` block not run)."""
    name = f"example_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_listed():
    assert len(SCRIPTS) >= 11


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_imports(path, monkeypatch):
    assert callable(load(path, monkeypatch).main)


def test_band_geometry_maps_runs(tmp_path, monkeypatch, capsys):
    module = load(EXAMPLES / "band_geometry_maps.py", monkeypatch)
    monkeypatch.setattr(module, "ROOT", tmp_path)  # the figure goes to tmp, not to docs/figures
    figures = []
    save = module.save_figure
    monkeypatch.setattr(module, "save_figure", lambda fig, path, **kw: (figures.append(fig), save(fig, path, **kw)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module.main()
    out = capsys.readouterr().out
    assert "Chern number -1.000000" in out  # Σ_k Ω (2π/N)²/2π of the QWZ lower band at u = 1
    assert (tmp_path / "docs" / "figures" / "band_geometry_maps.png").stat().st_size > 10_000
    maps = [ax for ax in figures[0].axes if ax.get_label() != "<colorbar>"]
    assert len(maps) == 4 and all("1/a" in ax.get_xlabel() and "1/a" in ax.get_ylabel() for ax in maps)
    bars = [ax for ax in figures[0].axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 4 and all(bar.get_ylabel() for bar in bars)  # every colour bar says what and in what unit
    for dirac in maps[2:]:  # sampled on its window |k| < 1, N points across, not 38 of a zone grid
        x = dirac.collections[0].get_coordinates()[..., 0]
        assert np.abs(x).max() < 1.01 and x.shape[1] >= module.N
