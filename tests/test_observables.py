"""qgeom.observables: the shared observables (current, operators, spin current) and the optical alias."""

import numpy as np
import pytest

from qgeom import observables
from qgeom._validation import QgeomInputError
from qgeom.bands import Bands
from qgeom.models.library import mnbi2te4_bilayer, pt_tilted_4band


def test_optical_alias_is_the_shared_module():
    from qgeom import optical
    from qgeom.optical import observables as legacy

    assert optical.Observable is observables.Observable
    assert legacy.resolve is observables.resolve and optical.current is observables.current


def test_spin_current_matches_its_callable_definition():
    """½{S, ∂_x H} built in the eigenbasis equals the same operator given as a callable of k, and its exact
    derivative ½{S, ∂_a∂_x H} equals the 4th-order finite difference of that callable."""
    model = pt_tilted_4band()
    S = np.kron(np.eye(2), np.diag([0.5, -0.5]))
    k = np.array([[0.3, -0.7], [1.1, 0.4], [-2.0, 2.5]])
    b = Bands.from_model(model, k, order=2)
    exact = observables.resolve(model, observables.spin_current("x", S))

    def func(kk):
        v = model.hamiltonian(kk, order=1)[:, 0]
        return 0.5 * (S @ v + v @ S)

    ref = observables.resolve(model, observables.operator(func, name="js", fd_step=1e-3))
    assert np.abs(exact.eig(b) - ref.eig(b)).max() < 1e-13
    assert np.abs(exact.deig(b) - ref.deig(b)).max() < 1e-9
    assert exact.k_dependent and exact.bands_order(True) == 2


def test_named_operator_parity_and_unit():
    obs = observables.from_model(mnbi2te4_bilayer(), "layer_polarization")
    assert (obs.parity, obs.unit, obs.k_dependent) == ("odd", "e", False)


def test_bad_spin_matrix_is_rejected_with_its_shape():
    with pytest.raises(QgeomInputError, match=r"shape \(4, 4\)"):
        observables.resolve(pt_tilted_4band(), observables.spin_current("y", np.eye(2)))
