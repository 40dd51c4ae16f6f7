"""Grad-CAM: layer discovery (nested models included) and the errors users can hit."""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import pytest

from reportgen.attributions.gradcam import GradCamExplainer, find_layer
from reportgen.errors import InputError
from reportgen.loading.model import Classifier
from tests.attributions.conftest import make_classifier


def test_finds_the_last_convolution_inside_a_nested_model(tiny_classifier):
    assert GradCamExplainer(tiny_classifier).params == {"layer": "inner_conv"}


def test_named_layer_is_used_and_maps_are_non_negative(tiny_classifier, face_like_images):
    method = GradCamExplainer(tiny_classifier, layer="outer_conv")
    maps = method.explain(face_like_images[:2], np.array([0, 1]))
    assert method.params == {"layer": "outer_conv"}
    assert maps.shape == (2, 48, 48) and (maps >= 0).all()


def test_unknown_layer_names_the_layer_and_lists_convolutions(tiny_classifier):
    with pytest.raises(InputError, match="no layer named 'conv9'.*outer_conv, inner_conv"):
        GradCamExplainer(tiny_classifier, layer="conv9")


def test_savedmodel_without_keras_layers_is_refused(tiny_classifier):
    bare = Classifier(replace(tiny_classifier.model, keras_model=None), (48, 48),
                      tiny_classifier.scale)
    with pytest.raises(InputError, match="SavedModel"):
        GradCamExplainer(bare)


def test_model_without_convolution_is_refused():
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax")])
    with pytest.raises(InputError, match="no Conv2D"):
        GradCamExplainer(make_classifier(model))


def test_find_layer_accepts_separable_and_depthwise():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.SeparableConv2D(2, 3),
                              keras.layers.DepthwiseConv2D(3), keras.layers.Flatten()])
    assert isinstance(find_layer(model, None), keras.layers.DepthwiseConv2D)


def test_layer_hook_is_removed_after_tracing(tiny_classifier, face_like_images):
    method = GradCamExplainer(tiny_classifier)
    method.explain(face_like_images[:1], np.array([0]))
    assert "call" not in vars(method.layer)
