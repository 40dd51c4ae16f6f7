"""``reportgen policy init`` and ``reportgen policy show``: policy files, without a run.

Errors are ``InputError``s, which the CLI prints as one ``reportgen: error:`` line (exit 2). As
every command does, each prints its result on stdout (the file written, the policy in force) and
its messages on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reportgen.errors import InputError

policy_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Write the documented example policy, or print the policy in force.",
)


@policy_app.command("init")
def init(
    path: Annotated[Path, typer.Argument(
        metavar="[PATH]", help="Where to write it.")] = Path("policy.toml"),
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Write the example policy, every key documented, to PATH."""
    from reportgen.resources import example_policy

    text = example_policy().read_text(encoding="utf-8")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file path such as {path / 'policy.toml'}")
    try:
        # "x" refuses an existing file (or link) at the moment of writing, not only when checked.
        with path.open("w" if force else "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise InputError(f"{path}: exists; pass --force to replace it") from None
    except OSError as err:
        raise InputError(f"{path}: cannot write the policy ({err.strerror})") from None
    typer.echo(f"reportgen: wrote the example policy; edit it, then: "
               f"reportgen gate --policy {path}", err=True)
    typer.echo(str(path))


@policy_app.command("show")
def show(
    policy: Annotated[str | None, typer.Option(
        "--policy", metavar="FILE|default|none", show_default="default",
        help="The policy to show, as gate and audit take it.")] = None,
) -> None:
    """Print the policy in force: what gate and audit apply with this --policy."""
    from reportgen.gating.defaults import choose_policy, default_policy_path
    from reportgen.gating.policy import load_policy

    chosen = choose_policy(policy)
    if chosen is None:
        typer.echo("# --policy none: no policy is applied; gate and audit check nothing")
        return
    if isinstance(chosen, Path):
        name = load_policy(chosen).name  # a regular file of valid keys, before it is read
        text = chosen.read_text(encoding="utf-8")
    else:
        text, name = default_policy_path().read_text(encoding="utf-8"), chosen.name
    typer.echo(f"# the policy in force: {name}")
    typer.echo(text.rstrip("\n"))
