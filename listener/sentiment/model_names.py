"""What a sentiment model setting names: Harken's default, a local directory or a hub id.

Light on purpose (no numpy, torch or transformers): the settings check model
values with it when they are read, long before any model loads.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL = "default"


def looks_like_path(model: str) -> bool:
    """Hub ids are ``name`` or ``owner/name``; anything else with slashes can only be a path."""
    return model.startswith(("/", "./", "../", "~", "\\")) or model.count("/") > 1 or "\\" in model


def missing_directory(model: str) -> str | None:
    """Why ``model`` cannot be a model directory, when it can only be one; ``None`` when it may be fine.

    A hub id (``owner/name``) is not checked here: whether the hub has it shows
    only when it loads.
    """
    if model == DEFAULT_MODEL:
        return None
    path = Path(model).expanduser()
    if path.is_dir():
        return None
    if path.exists():
        return f"{model!r} is a file, not a model directory"
    if looks_like_path(model):
        return f"directory {model!r} does not exist"
    return None
