"""Population training: P models of one structure trained in one process with batched kernels
(stacked weights with a leading member axis, torch.func.vmap over the explicit cells)."""
from rnnbench.population.stack import Population
from rnnbench.population.train import train_population

__all__ = ["Population", "train_population"]
