"""Property tests: malformed policies and baseline summaries give InputError, never a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.errors import InputError
from reportgen.gating.baseline import validate_summary
from reportgen.gating.checks import CHECKS
from reportgen.gating.compare import compare
from reportgen.gating.policy import load_policy, parse_policy
from reportgen.gating.verdict import evaluate_checks

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"

# Values TOML can hold (no None: TOML has no null).
toml_scalars = st.one_of(
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
keys = st.sampled_from([*CHECKS, "use_ci", "default", "disgust"]) | st.text(max_size=10)
sections = st.sampled_from(["thresholds", "baseline", "options"]) | st.text(max_size=10)
policies = st.dictionaries(
    sections, st.dictionaries(keys, toml_values, max_size=4) | toml_scalars, max_size=3
)

json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None, database=None)
@given(policies)
def test_any_policy_document_parses_or_is_an_input_error(document: dict[str, Any]) -> None:
    try:
        parse_policy(document, "fuzz.toml")
    except InputError as error:
        assert str(error).startswith("fuzz.toml: ")


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON-like tree."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


# database=None: hypothesis would otherwise keep examples in .hypothesis/ in the repository.
@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_corrupted_baseline_is_refused_or_usable(
    data: st.DataObject, make_summary, make_probe, make_finding
) -> None:
    valid = make_summary(
        probes=[make_probe("blur", {"happy": 0.3}, {"happy": 0.2})],
        findings=[make_finding()],
    )
    baseline = copy.deepcopy(valid)
    paths = _paths(baseline)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = baseline
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = data.draw(json_junk)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier corruption removed this path
    try:
        validated = validate_summary(json.loads(json.dumps(baseline)), "base.json")
    except InputError as error:
        assert str(error).startswith("base.json")
        return
    # What validation lets through must compare and gate without a traceback.
    try:
        compare(validated, valid).to_summary()
        evaluate_checks(load_policy(EXAMPLE), valid, validated)
    except InputError:
        pass


# database=None: as above.
@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.one_of(st.just(1), st.integers(-3, 5), st.floats(), st.text(max_size=3), st.none()),
       model=st.one_of(st.just({"path": "m.keras"}), st.none(), st.integers(), st.text(max_size=3)),
       metric=st.sampled_from(["accuracy", "balanced_accuracy", "macro_f1", "ece", "recall"]),
       value=st.one_of(st.floats(-10, 10), st.integers(-10, 10)))
def test_baseline_schema_model_and_ranges_are_checked(version, model, metric, value, make_summary) -> None:
    """What validation lets through has schema version 1, a model object and every rate in 0–1."""
    baseline = make_summary()
    baseline["schema_version"], baseline["model"] = version, model
    if metric == "recall":
        baseline["metrics"]["per_class"]["sad"]["recall"] = value
    else:
        baseline["metrics"][metric] = value
    try:
        validate_summary(json.loads(json.dumps(baseline)), "base.json")
    except InputError as error:
        assert str(error).startswith("base.json") and "\n" not in str(error)
        return
    assert version == 1 and not isinstance(version, bool) and isinstance(model, dict)
    assert 0.0 <= value <= 1.0
