"""The linkage model the hub scores with: a file named by ``AIM_LINKAGE_MODEL`` or, unset, the default shipped with
AIM, so that a fresh hub links out of the box. ``aim hub train`` writes a re-estimated model with a new version."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aim.errors import ConfigError
from linkage.errors import ModelError
from linkage.model import LinkageModel

DEFAULT_MODEL = "default-model.yaml"


def default_model_text() -> str:
    return resources.files("aim.identity").joinpath("data", DEFAULT_MODEL).read_text(encoding="utf-8")


def load_model(path: str | Path | None) -> LinkageModel:
    """The model in ``path``, or the shipped default when ``path`` is empty.

    Raises:
        ConfigError: the file is missing or is not a valid model (every problem listed).
    """
    if not path:
        return LinkageModel.from_yaml(default_model_text())
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"AIM_LINKAGE_MODEL names {file}, which cannot be read ({exc.strerror}): "
            "train one with 'aim hub train', or unset the variable to use the default model"
        ) from None
    try:
        return LinkageModel.from_yaml(text)
    except ModelError as exc:
        raise ConfigError(f"the linkage model {file} is invalid: {exc}") from None


def write_model(model: LinkageModel, path: str | Path) -> Path:
    """Write ``model`` as YAML (atomically: a reader never sees half a file)."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    part = file.with_name(file.name + ".part")
    part.write_text(model.to_yaml(), encoding="utf-8")
    part.replace(file)
    return file
