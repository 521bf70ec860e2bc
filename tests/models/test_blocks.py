"""Exact block decomposition of H(k): detection, sub-models, and responses summed over blocks
against the dense N-band path (which must treat cross-block degeneracies by subspace averaging)."""

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.dc import exact, expansion
from qgeom.models import (
    TightBindingModel,
    mnbi2te4_bilayer,
    pt_tilted_2band,
    pt_tilted_4band,
    tilted_dirac_2band,
    with_convention,
)
from qgeom.models.blocks import orbital_blocks, split_blocks
from qgeom.results import metadata


def _scrambled_two_block_model(seed: int = 3, operators=None) -> TightBindingModel:
    """A 3-orbital and a 2-orbital random block, orbitals interleaved by a permutation."""
    rng = np.random.default_rng(seed)
    perm = np.array([3, 0, 4, 1, 2])  # new orbital perm[i] is old orbital i: A = {0, 3, 4}, B = {1, 2}

    def random_block(n, scale):
        return scale * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))

    hop = {}
    for R, scale in {(0, 0): 1.0, (1, 0): 0.5, (0, 1): 0.4, (1, 1): 0.2}.items():
        t = np.zeros((5, 5), complex)
        t[:3, :3], t[3:, 3:] = random_block(3, scale), random_block(2, scale)
        if R == (0, 0):
            t = 0.5 * (t + t.conj().T)
        hop[R] = t[np.ix_(np.argsort(perm), np.argsort(perm))]
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, name="two_blocks", operators=operators)


def test_pt_model_splits_into_h_and_its_conjugate():
    m = pt_tilted_4band()
    blocks = orbital_blocks(m)
    assert [b.tolist() for b in blocks] == [[0, 3], [1, 2]]
    k = np.random.default_rng(0).uniform(-np.pi, np.pi, (50, 2))
    parts = split_blocks(m)
    for part, ref in zip(parts, (pt_tilted_2band(), pt_tilted_2band(conjugate=True))):
        for order in range(4):
            assert np.abs(part.hamiltonian(k, order) - ref.hamiltonian(k, order)).max() < 1e-14


def test_detection_of_scrambled_blocks_and_non_splitting_models():
    m = _scrambled_two_block_model()
    assert [b.tolist() for b in orbital_blocks(m)] == [[0, 3, 4], [1, 2]]
    # the blocks' spectra together are the full spectrum at every k
    k = np.random.default_rng(1).uniform(-np.pi, np.pi, (40, 2))
    e_blocks = np.sort(np.concatenate([np.linalg.eigvalsh(p.hamiltonian(k)) for p in split_blocks(m)], axis=1))
    assert np.abs(e_blocks - np.linalg.eigvalsh(m.hamiltonian(k))).max() < 1e-12
    assert split_blocks(tilted_dirac_2band())[0] is not None and len(split_blocks(tilted_dirac_2band())) == 1
    # an observable that couples the blocks does not join them (its elements between blocks drop out:
    # test_an_observable_coupling_the_blocks_responds_as_in_the_dense_path)
    coupling = np.zeros((5, 5))
    coupling[0, 1] = coupling[1, 0] = 1.0
    assert len(orbital_blocks(_scrambled_two_block_model(operators={"hop": coupling}))) == 2
    # k·p models have no hopping table: never split
    assert len(orbital_blocks(mnbi2te4_bilayer())) == 1


COMPS = ["xyy", "yxx", "xxx", "yyy", "xxy"]


@pytest.mark.parametrize("kinetic_form", ["third_derivative", "velocity_cubed"])
def test_expansion_blocks_equal_dense_path(kinetic_form):
    m = _scrambled_two_block_model()
    kw = dict(components=COMPS, mu=np.linspace(-1.5, 1.5, 7), temperature=0.15, grid=48, rta=(1.0, 0.5),
              kinetic_form=kinetic_form)
    split = expansion(m, **kw)
    dense = expansion(m, blocks=False, **kw)
    scale = float(np.abs(dense.sigma).max())
    assert scale > 1e-3
    assert float(np.abs(split.sigma - dense.sigma).max()) < 1e-10 * scale
    assert metadata(split, "parameters")["orbital_blocks"] == [[0, 3, 4], [1, 2]]
    assert metadata(dense, "parameters")["orbital_blocks"] == "not split"


def test_expansion_blocks_in_convention_ii():
    m = with_convention(_scrambled_two_block_model(), "II",
                        positions=np.random.default_rng(5).uniform(0, 1, (5, 2)))
    assert len(split_blocks(m)) == 2
    kw = dict(components=COMPS, mu=[-0.5, 0.4], temperature=0.2, grid=40)
    split, dense = expansion(m, **kw).sigma, expansion(m, blocks=False, **kw).sigma
    assert float(np.abs(split - dense).max()) < 1e-10 * float(np.abs(dense).max())


def test_an_observable_coupling_the_blocks_responds_as_in_the_dense_path():
    """A named operator with random elements between the blocks (spin_x of a spinor model without
    spin–orbit coupling is one): the density matrix of ⊕_B H_B is block diagonal, so those elements drop
    out; the split sums equal the dense path's, Γ-expansion and exact NESS."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5))
    m = _scrambled_two_block_model(operators={"hop": X + X.conj().T})
    assert len(orbital_blocks(m)) == 2
    kw = dict(observable="hop", components=["xx", "xy", "yy"], mu=[-0.3, 0.6], temperature=0.2, grid=16, progress=False)
    split, dense = expansion(m, **kw).sigma.values, expansion(m, blocks=False, **kw).sigma.values
    # the default resolves every pair: in the dense path the elements of O between nearly degenerate states
    # of different blocks enter with 1/Δ and cancel only to rounding (the split path never forms them)
    assert np.abs(split - dense).max() < 1e-6 * np.abs(dense).max()
    split, dense = (expansion(m, resolution=0.2, blocks=b, **kw).sigma.values for b in (True, False))
    assert np.abs(split - dense).max() < 1e-12 * np.abs(dense).max()
    kw = dict(kw, components=["xx", "xy"], gamma=[0.1, 0.3])
    split, dense = exact(m, **kw).sigma.values, exact(m, blocks=False, **kw).sigma.values
    assert np.abs(split - dense).max() < 1e-12 * np.abs(dense).max()


def test_exact_blocks_equal_dense_path():
    m = _scrambled_two_block_model()
    kw = dict(components=["xyy", "xxx"], mu=[-0.3, 0.6], temperature=0.2, gamma=[0.1], grid=16)
    split, dense = exact(m, **kw).sigma.values, exact(m, blocks=False, **kw).sigma.values
    assert np.abs(split - dense).max() < 1e-10 * np.abs(dense).max()


def test_checkpoint_of_dense_run_is_not_reused_for_split_run(tmp_path):
    m = pt_tilted_4band()
    kw = dict(components="xxx", mu=[-3.0], temperature=0.1, grid=24, checkpoint=tmp_path / "ck")
    expansion(m, blocks=False, **kw)
    with pytest.raises(QgeomInputError, match="checkpoint"):
        expansion(m, **kw)
