"""The one strict base for every config file a person edits (settings, catalog, rules, subjects).

An unknown key is an error (``extra="forbid"``): a typo never silently does nothing. Models are
frozen (config is read, never edited in place) and reject ``.nan``/``.inf``, which YAML would
otherwise happily parse into a threshold. Errors are located by ``signage.yamlconf.load_model``.

A mutable default is written ``Field(default=[])``: pydantic copies it for each instance, and
ruff's RUF012 recognises only direct ``BaseModel`` subclasses, not subclasses of this base.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A strict, frozen config model; a subclass adds settings with its own ``model_config``."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
