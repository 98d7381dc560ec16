"""Populations and searches: P runs of one structure trained in one process with batched kernels (the
music task's P-member mode, rnnbench/tasks/music_population.py, on rnnbench/models/stack.py), grouped,
searched (random, TPE), dispatched and resumed."""
from rnnbench.models.stack import Population
from rnnbench.population.train import train_population

__all__ = ["Population", "train_population"]
