"""Each kernel's parameter defaults are written once, in its function's signature, and read from there."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from rntk_bench.errors import InvalidParameterError
from rntk_bench.kernels import KERNELS, KernelSpec, Param, get_kernel
from rntk_bench.kernels.ntk import ntk, ntk_reference
from rntk_bench.kernels.registry import signature_defaults, with_defaults
from rntk_bench.kernels.rntk import rntk, rntk_reference


def _keyword_defaults(function) -> dict:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_registry_defaults_are_the_signature_defaults(name):
    spec = KERNELS[name]
    assert spec.defaults == _keyword_defaults(spec.function)
    assert {key: param.default for key, param in spec.params.items()} == spec.defaults
    assert get_kernel(name).params == spec.defaults


def test_canonical_default_ids_are_unchanged():
    """The ids of the defaults appear in committed result files and must stay byte-identical."""
    assert get_kernel("rntk").id == (
        "rntk[activation=relu,direction=forward,fixed_layers=0,n_layers=1,output=last,sigma_b=0.1,"
        "sigma_h=0,sigma_u=0.5,sigma_v=1,sigma_w=1.4142]"
    )
    assert get_kernel("ntk").id == "ntk[activation=relu,fixed_layers=0,n_layers=1,sigma_b=0,sigma_w=1]"
    assert get_kernel("rbf").id == "rbf[gamma=None]"
    assert get_kernel("poly").id == "poly[coef0=1,degree=3,gamma=None]"


def _scaled(X=None, Y=None, *, scale: float = 2.0, shift: float | None = None):
    return np.zeros((1, 1))


def test_spec_takes_defaults_from_the_function():
    spec = KernelSpec(
        name="scaled", function=_scaled, input_kind="vector", default_grid=lambda X: [{}],
        params={"scale": Param(float), "shift": Param(float, nullable=True)},
    )
    assert spec.defaults == {"scale": 2.0, "shift": None}
    assert spec.params["scale"].default == 2.0
    assert spec.validate({"shift": 1}) == {"scale": 2.0, "shift": 1.0}


def test_spec_refuses_a_stated_default_that_differs_from_the_signature():
    with pytest.raises(InvalidParameterError, match=r"default 3\.0 for 'scale'.*signature has 2\.0"):
        KernelSpec(
            name="scaled", function=_scaled, input_kind="vector", default_grid=lambda X: [{}],
            params={"scale": Param(float, default=3.0), "shift": Param(float, nullable=True)},
        )
    same = KernelSpec(
        name="scaled", function=_scaled, input_kind="vector", default_grid=lambda X: [{}],
        params={"scale": Param(float, default=2.0), "shift": Param(float, nullable=True)},
    )
    assert same.defaults["scale"] == 2.0


def test_spec_refuses_parameters_the_function_does_not_take_and_infers_the_others():
    with pytest.raises(InvalidParameterError, match=r"describes the parameter\(s\) \['width'\]"):
        KernelSpec(
            name="scaled", function=_scaled, input_kind="vector", default_grid=lambda X: [{}],
            params={"scale": Param(float), "width": Param(float)},
        )
    inferred = KernelSpec(name="scaled", function=_scaled, input_kind="vector", default_grid=lambda X: [{}],
                          params={"scale": Param(float)})
    assert inferred.params["shift"].kind is float and inferred.params["shift"].nullable


def test_a_keyword_parameter_without_default_is_refused():
    def kernel(X, Y=None, *, width):
        return X

    with pytest.raises(InvalidParameterError, match="'width'.*no default"):
        signature_defaults(kernel)


@pytest.mark.parametrize("fast, reference", [(rntk, rntk_reference), (ntk, ntk_reference)])
def test_references_take_the_kernels_defaults(fast, reference):
    assert inspect.signature(reference) == inspect.signature(fast)
    X = np.random.default_rng(3).normal(size=(3, 4))
    np.testing.assert_allclose(reference(X), reference(X, **_keyword_defaults(fast)), rtol=0, atol=0)
    np.testing.assert_allclose(reference(X), fast(X), rtol=1e-12)


def test_references_refuse_unknown_parameters():
    with pytest.raises(InvalidParameterError, match="'depth'.*valid parameters: activation"):
        rntk_reference(np.ones((2, 3)), depth=2)
    with pytest.raises(InvalidParameterError, match="'depth'"):
        with_defaults(ntk, {"depth": 2})
