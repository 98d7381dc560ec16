"""The optuna study of a TPE search (rnnbench/population/tpe.py): opening its SQLite file, the pruner
``search.pruner`` makes of optuna's, and the pruner a population group applies from it (a group that is a
job of its own opens the study too). Its own module so that a population group (population/train.py)
needs nothing of the search that made it."""
from __future__ import annotations

from pathlib import Path

from rnnbench.errors import ConfigError


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError('search=tpe needs optuna: pip install "rnnbench[search]"') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def optuna_pruner(search, max_epochs: int):
    """optuna's pruner for ``search.pruner``: the first rung ``search.rung`` is its min_resource (the median
    rule's warm-up), ``search.eta`` its reduction factor, train.max_epochs hyperband's max_resource."""
    optuna = _optuna()
    kind, rung, eta = search.get("pruner", "none"), int(search.get("rung", 5)), int(search.get("eta", 3))
    if kind == "sha":  # asynchronous successive halving (Li et al. 2020): a trial goes on if it is in the top
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=rung, reduction_factor=eta)  # 1/eta at its rung
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=rung, max_resource=max(max_epochs, rung), reduction_factor=eta)
    if kind == "median":  # from epoch r on, against the completed trials (optuna's default 5 first)
        return optuna.pruners.MedianPruner(n_warmup_steps=rung)
    return optuna.pruners.NopPruner()


def open_study(path: Path, seed: int, startup: int, pruner=None):
    optuna = _optuna()
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    return optuna.create_study(study_name="rnnbench", storage=f"sqlite:///{path}", sampler=sampler, pruner=pruner,
                               direction="minimize", load_if_exists=True)


class StudyPruner:
    """search=tpe with ``search.pruner``: optuna's own pruner decides which members stop (issue 22).
    After an epoch every active member first reports its best validation NLL so far as its trial's
    intermediate value at step = epoch (so a rung sees the whole population), then each asks
    ``should_prune``. The trials are those whose member folders train here (``members/<trial number>``);
    the study is the search's SQLite file, so a group that is a job of its own asks it too."""

    def __init__(self, study, trials: list[int]):
        self.study, self.trials = study, trials

    @classmethod
    def of(cls, path: Path, cfg, run_dirs: list[Path]) -> "StudyPruner":
        optuna = _optuna()
        study = optuna.load_study(study_name="rnnbench", storage=f"sqlite:///{path}",
                                  pruner=optuna_pruner(cfg.search, int(cfg.train.max_epochs)))
        return cls(study, [int(Path(d).name) for d in run_dirs])

    def __call__(self, epoch: int, active: list[tuple[int, float]]) -> list[int]:
        from optuna.trial import Trial

        ids = {t.number: t._trial_id for t in self.study.get_trials(deepcopy=False)}
        trials = {i: Trial(self.study, ids[self.trials[i]]) for i, _ in active}
        for i, best in active:
            trials[i].report(best, epoch)  # a step reported before a resume keeps its (equal) first value
        return [i for i, _ in active if trials[i].should_prune()]

    def reason(self, epoch: int, i: int = 0) -> str:
        return (f"pruned after epoch {epoch} (optuna's {type(self.study.pruner).__name__} on trial "
                f"{self.trials[i]}: not among the best trials at this step)")
