"""How explainers are built and what the attribution stage explains.

The quality stage receives the same ``AttributionSettings``, so the maps it re-explains
(randomised model, other seeds) come from explainers built exactly like the stage's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reportgen.attributions.base import Explainer
from reportgen.attributions.registry import REGISTRY, check_methods, make_explainer
from reportgen.loading.model import Classifier


@dataclass(frozen=True)
class AttributionSettings:
    """Every setting of the attribution stage except the methods themselves.

    ``batch_size`` None picks ``default_batch_size`` for the model; ``layer`` goes to the
    methods that need a layer (Grad-CAM; None: the last convolution); ``method_params``
    method → constructor keyword arguments. The stage explains ``n_grid_cases`` cases for
    every class and averages maps over up to ``mean_cap`` images per class for
    ``mean_methods`` (None: see ``runner._mean_methods``). ``exhaustive`` makes the adaptive
    methods (``Explainer.adaptive``: SmoothGrad) use their full fixed sample count on every image.
    """

    seed: int = 0
    batch_size: int | None = None
    layer: str | None = None
    method_params: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    n_grid_cases: int = 2
    mean_cap: int = 12
    mean_methods: tuple[str, ...] | None = None
    exhaustive: bool = False

    def params(self, name: str) -> dict[str, object]:
        """The constructor keyword arguments of method ``name`` (the layer and, for adaptive
        methods, ``exhaustive`` included)."""
        params = dict(self.method_params.get(name, {}))
        explainer = REGISTRY.get(name)
        if explainer is not None and explainer.needs_layer and self.layer is not None:
            params.setdefault("layer", self.layer)
        if explainer is not None and explainer.adaptive and self.exhaustive:
            params["exhaustive"] = True
        return params

    def build(self, name: str, classifier: Classifier, seed: int | None = None) -> Explainer:
        """Explainer ``name`` around ``classifier`` (``seed`` overrides the settings' seed).

        InputError for an unknown method or parameter.
        """
        (method,) = check_methods([name])
        return make_explainer(method, classifier, batch_size=self.batch_size,
                              seed=self.seed if seed is None else int(seed),
                              **self.params(method))
