"""The engine: one training loop for every task (fit.py), its rules (loop.py), checkpoints
(checkpoint.py) and run outputs (results.py). A task (rnnbench/tasks/) supplies what differs
(task.py); the engine imports no task."""
