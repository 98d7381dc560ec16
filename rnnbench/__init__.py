"""rnnbench: reproduce and extend the research on regularising recurrent networks.

    from rnnbench import run
    r = run("dataset=jsb regulariser=fd train.max_epochs=5")
    r["test_nll"]

``run`` and ``compose`` are rnnbench/api.py's (imported when first used, so that ``import rnnbench``
stays light).
"""

__version__ = "0.1.0"
__all__ = ["run", "compose", "__version__"]


def __getattr__(name: str):
    if name in ("run", "compose"):
        from rnnbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnnbench' has no attribute {name!r}")
