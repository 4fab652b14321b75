"""Every attribute of the descriptive code changes the head (shape, skin or hair)."""

from dataclasses import asdict

import numpy as np
import pytest

from headsculpt.descriptive_code import CATEGORICAL_ATTRIBUTES, SCALAR_ATTRIBUTES, DescriptiveCode
from headsculpt.prior.code_mapping import head_parameters
from headsculpt.prior.hair_choices import hair_choices
from headsculpt.texture.skin_parameters import SkinParameters

BASE = {"age": 40.0, "ancestry": {"caucasian": 1.0}, "gender": 1.0}


def _outputs(attributes):
    code = DescriptiveCode(attributes={**BASE, **attributes})
    shape = head_parameters(code, np.random.default_rng(0))
    hair = hair_choices(code, np.random.default_rng(0))
    skin = SkinParameters.from_code(DescriptiveCode({**code.attributes, **hair}),
                                    np.random.default_rng(0))  # fmt: skip
    return asdict(shape), asdict(skin), hair


@pytest.mark.parametrize("name", SCALAR_ATTRIBUTES)
def test_each_scalar_moves_shape_or_skin_in_both_directions(name):
    low, high = _outputs({name: -1.0}), _outputs({name: 1.0})
    assert low != high, f"{name} changes nothing"


@pytest.mark.parametrize("name", sorted(CATEGORICAL_ATTRIBUTES))
def test_each_category_changes_the_head(name):
    values = CATEGORICAL_ATTRIBUTES[name]
    outputs = [_outputs({name: v}) for v in values if v != "neutral"]
    assert len({repr(o) for o in outputs}) == len(outputs), f"two {name} values look the same"


def test_age_and_ancestry_change_the_head():
    assert _outputs({"age": 20.0}) != _outputs({"age": 80.0})
    assert _outputs({"ancestry": {"african": 1.0}}) != _outputs({"ancestry": {"asian": 1.0}})
