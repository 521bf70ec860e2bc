"""Physical units of a model (`qgeom.units`): the spellings other codes use count as the same unit."""

import numpy as np

from qgeom.dc import expansion
from qgeom.units import physical_units
from tests.weyl_models import magnetic_weyl


def test_angstrom_and_bohr_spelt_as_other_codes_do_are_physical_units():
    """A 3D model built with length_unit="Angstrom" (ASE's and pymatgen's spelling) is in eV/Å: its σ comes out in
    A V⁻², e³/(ħ eV) = 2.434e-4 A V⁻² times the model-unit value — it used to stay in model units."""
    model = magnetic_weyl()  # energy_unit "eV", length_unit "Angstrom"
    assert physical_units(model) == (1.0, 1e-10)
    model.length_unit = "Bohr"
    assert np.isclose(physical_units(model)[1], 0.529177e-10, rtol=1e-5)
    model.length_unit = "Angstrom"
    kw = dict(components="zxy", mu=[0.2], temperature=0.05, grid=12, offset="gamma", progress=False, error_tol=1e9)
    si, raw = expansion(model, **kw), expansion(model, units="model", **kw)
    assert si.sigma.attrs["units"] == "A V^-2"
    np.testing.assert_allclose(si.sigma, 2.434135e-4 * raw.sigma, rtol=1e-6, atol=0)
