"""rnnbench: reproduce and extend the research on regularising recurrent networks."""

__version__ = "0.1.0"
