import numpy as np
import pytest

from qgeom.bands import Bands
from qgeom.models.library import mnbi2te4_bilayer, pt_tilted_4band


@pytest.fixture(scope="session")
def mbt():
    return {x: mnbi2te4_bilayer(neel=x) for x in (+1, -1)}


@pytest.fixture(scope="session")
def pt4():
    return pt_tilted_4band()


@pytest.fixture(scope="session")
def mbt_kpoints():
    rng = np.random.default_rng(7)
    r = 0.15 * np.sqrt(rng.uniform(0.01, 1, 40))
    phi = rng.uniform(0, 2 * np.pi, 40)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], 1)


@pytest.fixture(scope="session")
def mbt_bands(mbt, mbt_kpoints):
    return Bands.from_model(mbt[+1], mbt_kpoints, order=1)


TAU_PS = 0.25
