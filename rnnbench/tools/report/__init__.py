"""``rnnbench-report``: gather results.json files into comparison tables."""
