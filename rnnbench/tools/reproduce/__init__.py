"""``rnnbench-reproduce TABLE``: run the rows of a paper's table and compare them with the published
numbers (tables.py: what each table runs; cli.py: running it and the ours-vs-published table)."""
