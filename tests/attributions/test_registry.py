"""The method registry, name checking and parameter checking."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reportgen.attributions import (
    DEFAULT_METHODS,
    REGISTRY,
    Explainer,
    check_methods,
    default_batch_size,
    default_methods,
    make_explainer,
)
from reportgen.errors import InputError
from reportgen.loading.model import Classifier


def test_registry_names_and_defaults():
    from reportgen.methods import METHOD_NAMES

    assert list(REGISTRY) == ["lime", "shap", "saliency", "smoothgrad", "ig", "gradcam"]
    assert tuple(REGISTRY) == METHOD_NAMES  # the names --methods is checked against early
    assert set(DEFAULT_METHODS) <= set(REGISTRY)
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Explainer) and cls.name == name and cls.title


def test_unknown_method_names_it_and_lists_valid_ones():
    with pytest.raises(InputError, match=r"'sailency'.*valid: lime, shap, saliency"):
        check_methods(["lime", "sailency"])


def test_check_methods_normalises_and_deduplicates():
    assert check_methods([" LIME", "ig", "lime"]) == ("lime", "ig")


def test_unknown_parameter_is_an_input_error(tiny_classifier):
    with pytest.raises(InputError, match="unknown parameter.*num_sample"):
        make_explainer("lime", tiny_classifier, num_sample=10)


def test_defaults_drop_gradcam_for_a_bare_savedmodel(tiny_classifier):
    bare = Classifier(replace(tiny_classifier.model, keras_model=None), (48, 48),
                      tiny_classifier.scale)
    assert "gradcam" not in default_methods(bare)
    assert default_methods(tiny_classifier) == DEFAULT_METHODS


def test_default_batch_size_shrinks_for_large_inputs(tiny_classifier):
    assert default_batch_size(tiny_classifier) == 512
    big = replace(tiny_classifier.model, input_shape=(224, 224, 3))
    assert default_batch_size(Classifier(big, (48, 48), tiny_classifier.scale)) == 16


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_method_describes_itself_consistently(name):
    """The stages act on these properties, never on a method's name."""
    method = REGISTRY[name]
    assert method.name == name and method.title
    assert method.display in ("signed", "magnitude", "positive")
    assert method.figure in ("overlay", "superpixels")
    if method.figure == "superpixels":  # drawn with its segments, so it must provide them
        assert method.needs_segments
    if method.needs_segments:
        assert method.segments is not Explainer.segments


def test_a_layer_setting_reaches_only_methods_that_need_a_layer():
    from reportgen.attributions import AttributionSettings

    settings = AttributionSettings(layer="conv", method_params={"ig": {"steps": 4}})
    for name, method in REGISTRY.items():
        assert ("layer" in settings.params(name)) == method.needs_layer
    assert settings.params("ig") == {"steps": 4}
