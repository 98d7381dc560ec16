"""The tools around runs, apart from the engine: rnnbench-sample, rnnbench-eval, the MIDI/PNG export,
rnnbench-report and rnnbench-reproduce. They read run folders; training is the engine's."""
