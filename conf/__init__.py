"""Hydra configs of rnnbench, one folder per config group (shipped as ``rnnbench.conf``)."""
