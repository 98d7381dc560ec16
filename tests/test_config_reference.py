"""docs/config.md is generated from the schemas (rnnbench/tools/config_reference.py, issue 33): it is not stale,
and it lists every key of every schema, with the range a bounded field declares."""
import dataclasses
import typing

from omegaconf import OmegaConf

from rnnbench.config import Config, dataset, optim
from rnnbench.tools import config_reference as ref


def _leaves(node: dict, prefix: str = "") -> list[str]:
    """Every leaf key of a plain (to_container) config dict, dotted."""
    out = []
    for key, value in node.items():
        out += _leaves(value, f"{prefix}{key}.") if isinstance(value, dict) and value else [f"{prefix}{key}"]
    return out


def _keys(schema) -> list[str]:
    return _leaves(OmegaConf.to_container(OmegaConf.structured(schema), throw_on_missing=False))


def test_the_committed_page_is_what_the_schemas_say():
    assert ref.PAGE.read_text() == ref.page(), "docs/config.md is stale: run python -m rnnbench.tools.config_reference"


def test_every_key_of_every_schema_is_listed():
    listed = set(ref.keys())
    expected = set()
    for schema_group, schemas in (("dataset", dataset.SCHEMAS), ("optim", optim.SCHEMAS)):
        for _, schema in schemas:
            expected |= {f"{schema_group}.{k}" for k in _keys(schema)}
    hints = typing.get_type_hints(Config)
    for f in dataclasses.fields(Config):
        if dataclasses.is_dataclass(hints[f.name]):
            expected |= {f"{f.name}.{k}" for k in _keys(hints[f.name])}
        elif f.name not in ("dataset", "optim"):  # their schemas are the groups' (above)
            expected.add(f.name)
    assert listed == expected
    page = ref.page()
    assert "| `train.clip` | float or null | `225.0` | a finite number > 0 |" in page  # type, default, range
    assert "| `dataset.floor` | one of `copy_previous`, `note_frequency` | `copy_previous` |" in page
