"""Pages of training runs: list, launch, live progress, results, galleries, comparisons and downloads."""
