"""Data: where files come from (sources, fetch), how they are read (unpickle, pianoroll, music,
synthetic) and how a split becomes device-resident batches (batches)."""
