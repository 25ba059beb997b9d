"""Typed schemas for the Hydra config groups whose settings become a dataclass.

Why: a misspelt or mistyped setting (``browser.setle_ms=5``, ``decoding.top_p=high``) should
fail when Hydra composes the config, naming the key, not run an hour with a default or crash
later. Hydra's pattern for this is a Structured Config stored in the ConfigStore and named in
each group file's defaults list (``conf/browser/default.yaml``: ``defaults: [base_browser,
_self_]``), so the YAML files stay where values live and the schema only checks them.

The schemas are derived from the runtime dataclasses (:class:`colorgen.browser.BrowserConfig`,
:class:`colorgen.decoding.DecodingConfig`), so a field is declared once; ``from_cfg`` of those
classes validates plain dicts through the same schema (:func:`validated`), so library callers get
the same errors as the command line.

Every program that composes (``@hydra.main`` entry points, the compose API in ``ablate``,
``bench`` and the tests) calls :func:`register_configs` first; it is idempotent.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

# Keys a group's YAML file carries that are not settings of the dataclass it configures.
EXTRA_FIELDS: dict[str, list[tuple[str, Any, Any]]] = {
    # the decoding's name ("greedy", "top_p", ...): row keys and labels, not a sampling setting
    "DecodingConfig": [("name", str, MISSING)],
}
# group -> (module, class) of the runtime dataclass; stored as <group>/base_<group>
GROUPS = {
    "browser": ("colorgen.browser", "BrowserConfig"),
    "decoding": ("colorgen.decoding", "DecodingConfig"),
}


def _omegaconf_type(tp: Any) -> Any:
    """The annotation OmegaConf can check for ``tp`` (sequences become lists)."""
    origin = typing.get_origin(tp)
    if origin in (collections.abc.Sequence, list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return list[args[0]] if args else list
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_omegaconf_type(a) for a in typing.get_args(tp))]  # noqa: UP007 - built at runtime
    return tp


def _schema_default(f: dataclasses.Field) -> dataclasses.Field:
    if f.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=f.default_factory)
    value = f.default
    if isinstance(value, tuple | list):
        return dataclasses.field(default_factory=functools.partial(list, value))
    return dataclasses.field(default=MISSING if value is dataclasses.MISSING else value)


@functools.cache
def schema_of(cls: type) -> type:
    """A mutable dataclass with ``cls``'s fields (types OmegaConf understands) plus its group's
    extra keys: the Structured Config that checks a group file configuring ``cls``."""
    hints = typing.get_type_hints(cls)
    spec = [(f.name, _omegaconf_type(hints[f.name]), _schema_default(f)) for f in dataclasses.fields(cls) if f.init]
    spec += [(name, tp, dataclasses.field(default=default)) for name, tp, default in EXTRA_FIELDS.get(cls.__name__, [])]
    return dataclasses.make_dataclass(cls.__name__.removesuffix("Config") + "Schema", spec)


def validated(cls: type, cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """``cfg`` checked against ``cls``'s schema (unknown key or wrong type: OmegaConf's error
    naming it) and resolved: the keyword arguments of ``cls``. A raw group file's ``defaults``
    list is dropped (Hydra consumes it when composing)."""
    if cfg is None:
        return {}
    if isinstance(cfg, DictConfig):
        raw = OmegaConf.to_container(cfg, resolve=True)
    else:
        raw = dict(cfg)
    raw.pop("defaults", None)
    merged = OmegaConf.merge(OmegaConf.structured(schema_of(cls)), raw)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {k: v for k, v in OmegaConf.to_container(merged, resolve=True).items() if k in names and k in raw}


def register_configs() -> None:
    """Store each group's schema as ``<group>/base_<group>`` (named by the group files' defaults)."""
    import importlib

    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for group, (module, name) in GROUPS.items():
        cls = getattr(importlib.import_module(module), name)
        store.store(group=group, name=f"base_{group}", node=schema_of(cls), provider="colorgen")
