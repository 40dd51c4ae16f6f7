"""The method registry: a plain dict from CLI name to explainer class, and its default set."""

from __future__ import annotations

import inspect

from reportgen.attributions.base import Explainer
from reportgen.attributions.gradcam import GradCamExplainer
from reportgen.attributions.gradients import IntegratedGradientsExplainer, SaliencyExplainer
from reportgen.attributions.lime import LimeExplainer
from reportgen.attributions.shap import ShapExplainer
from reportgen.attributions.smoothgrad import SmoothGradExplainer
from reportgen.errors import InputError
from reportgen.loading.model import Classifier
from reportgen.methods import check_methods  # the names, checked without TensorFlow

REGISTRY: dict[str, type[Explainer]] = {
    "lime": LimeExplainer,
    "shap": ShapExplainer,
    "saliency": SaliencyExplainer,
    "smoothgrad": SmoothGradExplainer,
    "ig": IntegratedGradientsExplainer,
    "gradcam": GradCamExplainer,
}

# LIME (what the original study used) plus the gradient family, which is cheap and which a
# practitioner found more readable. SmoothGrad stands in for vanilla saliency (same idea,
# less noise). SHAP is opt-in: shap's numba kernels compile for ~15-25 s on first use and
# each image then costs about as much as LIME, which would break the 90 s demo budget.
DEFAULT_METHODS: tuple[str, ...] = ("lime", "smoothgrad", "ig", "gradcam")


def default_methods(classifier: Classifier) -> tuple[str, ...]:
    """DEFAULT_METHODS minus those this model cannot run (a method that needs a layer needs
    Keras layers, which a bare SavedModel lacks)."""
    if classifier.model.keras_model is None:
        return tuple(name for name in DEFAULT_METHODS if not REGISTRY[name].needs_layer)
    return DEFAULT_METHODS


def make_explainer(name: str, classifier: Classifier, batch_size: int | None = None,
                   seed: int = 0, **params: object) -> Explainer:
    """Build the explainer ``name``; InputError for an unknown name or parameter."""
    (method,) = check_methods([name])
    cls = REGISTRY[method]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "classifier"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise InputError(
            f"attribution method '{method}': unknown parameter(s) {', '.join(unknown)} "
            f"(valid: {', '.join(sorted(accepted))})"
        )
    return cls(classifier, batch_size=batch_size, seed=seed, **params)
