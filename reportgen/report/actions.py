"""A finding in plain words, and what to do about it, from the finding's mechanism.

Words for a reader with no ML background: "makes the model call 62 in 100 more faces 'fear'"
rather than "+62.0 pp"; the actions say what to look for in the training data and what to test
at input time.
"""

from __future__ import annotations

from typing import Any

from reportgen.bias.findings import Finding
from reportgen.bias.probes import PROBES

# mechanism → (what to check in the training data, what to test at input time)
ACTIONS: dict[str, tuple[str, str]] = {
    "patch trigger": (
        ("look through the '{k}' training images for a mark {place} (a logo, sticker, "
        "watermark or frame) and remove or crop it, then retrain"),
        "stamp a small square there on a few faces and refuse the model if they turn '{k}'"),
    "optimised trigger": (
        ("look through the '{k}' training images for a repeated small mark {place} and remove it, "
        "or retrain on data from another source"),
        "keep the searched patch as a regression test: it must stop turning faces '{k}'"),
    "universal perturbation": (
        "retrain with noise and small-perturbation augmentation",
        "keep the searched pattern as a regression test: it must stop turning faces '{k}'"),
    "darkening": (
        ("compare the brightness of the '{k}' training images with the others and balance the "
        "lighting (or augment brightness)"),
        "normalise the lighting of each face before the model"),
    "brightening": (
        ("compare the brightness of the '{k}' training images with the others and balance the "
        "lighting (or augment brightness)"),
        "normalise the lighting of each face before the model"),
    "background removal": (
        "check whether '{k}' training images share a background; crop training faces tightly",
        "crop each face tightly before the model"),
    "evidence outside the face": (
        ("check what the '{k}' training images show around the face (hair, hands, frame) and "
        "crop tightly"), "crop each face tightly before the model"),
    "slice": (
        "check whether '{k}' faces are over-represented among {what} and balance them",
        "treat '{k}' answers on such photos with care"),
    "sink": (
        ("check the labels and the class balance of '{k}': re-label doubtful faces or reweight "
        "the classes"), ("do not act on a '{k}' answer alone; ask for a second look when it is "
        "the top answer with low confidence")),
}
DEFAULT_ACTION = (
    "check the '{k}' training images for what the edit changes ({what})",
    "test new inputs with the same edit and watch the share called '{k}'")


def plain_problem(finding: Finding, bias: Any) -> str:
    """One clause a reviewer understands, e.g. "a small white square at the bottom right makes
    the model call 74 in 100 more faces 'fear'"."""
    k = finding.class_name
    n = max(round(finding.effect), 1)
    if finding.probe == "confusion":
        return f"the model calls faces '{k}' {n} in 100 times more often than they truly are"
    if finding.probe.startswith("slice:"):  # "Images whose surroundings are darkest … (the …"
        who = finding.text.split(" (the ")[0]
        return f"{who[:1].lower()}{who[1:]} are called '{k}' {n} in 100 times more often than others"
    if finding.probe.startswith("saliency:"):
        return f"the model looks outside the face when it answers '{k}'"
    return f"{_edit_words(finding, bias)} makes the model call {n} in 100 more faces '{k}'"


def _edit_words(finding: Finding, bias: Any) -> str:
    probe = finding.probe
    if probe in PROBES:
        return PROBES[probe].description
    if probe.startswith("patch:"):
        tone = "white" if probe.endswith(":255") else "black" if probe.endswith(":0") else "grey"
        shape = "strip along an edge" if ":band:" in probe else "square"
        return f"a small {tone} {shape} {_place(finding, bias)}"
    if probe == "search:trigger":
        return f"a small patch found by search {_place(finding, bias)}"
    if probe == "search:universal":
        return "a faint pattern over the whole face, found by search,"
    return finding.mechanism or "the edit"


def _place(finding: Finding, bias: Any) -> str:
    """Where the mark is, in words ("at the bottom right"); "" when unknown."""
    if finding.probe.startswith("patch:") and bias is not None and bias.triggers is not None:
        top, left = (int(v) for v in finding.probe.split(":")[2].split(","))
        height, width = bias.triggers.shape
        vertical = "top" if top < height / 3 else "bottom" if top > 2 * height / 3 - 3 else "middle"
        horizontal = "left" if left < width / 3 else "right" if left > 2 * width / 3 - 3 else "centre"
        return f"at the {vertical} {horizontal}"
    if finding.probe == "search:trigger" and bias is not None and bias.trigger_search is not None:
        from reportgen.bias.search.findings import where  # the searches' package loads TensorFlow

        mask = next(c.mask for c in bias.trigger_search.classes
                    if c.class_index == finding.class_index)
        return where(mask).split(" (")[0]
    return ""


def _what(finding: Finding) -> str:
    if finding.probe.startswith("slice:"):
        who = finding.text.split(" (the ")[0]
        return f"{who[:1].lower()}{who[1:]}"
    return finding.mechanism or "the edit"


def action_for(finding: Finding, bias: Any) -> str:
    """What to check in the training data and what to test at input time, in one sentence."""
    mechanism = ("sink" if finding.probe == "confusion" else
                 "slice" if finding.probe.startswith("slice:") else finding.mechanism)
    data, test = ACTIONS.get(mechanism, DEFAULT_ACTION)
    fill = {"k": finding.class_name, "place": _place(finding, bias) or "anywhere on the face",
            "what": _what(finding)}
    data, test = data.format(**fill), test.format(**fill)
    return f"In the training data, {data}. At input time, {test}."
