"""The case explorer's context: one card per selected case (the summary's ``cases``, in the same
order), with its probabilities and, when attributions ran, one overlay per method view.

The cards carry their true class, predicted class and group as data attributes, so the page
filters them in the browser; without JavaScript every card is simply shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportgen.evaluation.select import Case
from reportgen.report.figures.cases import ViewColumn, case_views, view_columns
from reportgen.report.figures.common import image_to_data_uri
from reportgen.result import AuditResult

BASIC_GROUPS = ("borderline-correct", "borderline-wrong", "confident-correct", "confident-wrong")


def group_label(group: str, class_names: list[str]) -> str:
    """Readable name of a selection group: "borderline wrong", "angry → sad", …"""
    if group in BASIC_GROUPS:
        return group.replace("-", " ")
    if group.startswith("correct-"):
        return f"correct {group.removeprefix('correct-')}"
    if group.startswith("wrong-as-"):
        return f"errors → {group.removeprefix('wrong-as-')}"
    if group.startswith("confused-"):
        true, _, pred = group.removeprefix("confused-").partition("-as-")
        return f"{true} → {pred}"
    return group


def relative_source(source: str, data_path: Path) -> str:
    """An image's name relative to the data root ("test/fear/PublicTest_123.jpg"), so the
    report shows no absolute path; CSV row numbers and other names are kept as they are."""
    path = Path(source)
    root = data_path if data_path.is_dir() else data_path.parent
    try:
        return str(path.relative_to(root)) if path.is_absolute() else source
    except ValueError:
        return path.name


def case_anchor(number: int) -> str:
    """The id of case ``number``'s card (its position in the summary's ``cases``)."""
    return f"case-{number}"


def case_numbers(result: AuditResult) -> dict[int, int]:
    """``id(case)`` → its position among the selected cases, to link galleries to cards."""
    return {id(case): n for n, case in enumerate(result.selection.cases)}


def _card(result: AuditResult, n: int, case: Case, columns: list[ViewColumn]) -> dict[str, Any]:
    names = list(result.options.class_names)
    attr = result.attributions
    image = attr.case_images[n] if attr is not None else result.dataset.images[case.index]
    probs = result.evaluation.probs[case.index]
    return {
        "id": case_anchor(n),
        "image": image_to_data_uri(image, format="WEBP"),
        "views": case_views(attr, n, columns) if attr is not None else {},
        "true": names[case.true],
        "pred": names[case.pred],
        "correct": case.true == case.pred,
        "p_pred": case.p_pred,
        "gap": case.gap,
        "group": case.group,
        "group_label": group_label(case.group, names),
        "source": relative_source(case.source, result.dataset.path),
        "probs": [(name, float(p)) for name, p in zip(names, probs)],
    }


def explorer_context(result: AuditResult) -> dict[str, Any]:
    """``columns`` (the overlay views), ``cards``, and ``groups``: (group, label, eligible,
    shown) in selection order."""
    names = list(result.options.class_names)
    attr = result.attributions
    columns = view_columns(attr) if attr is not None else []
    cards = [_card(result, n, case, columns) for n, case in enumerate(result.selection.cases)]
    shown = result.selection.by_group()
    groups = [(group, group_label(group, names), size, len(shown.get(group, [])))
              for group, size in result.selection.group_sizes.items()]
    return {"columns": columns, "cards": cards, "groups": groups}
