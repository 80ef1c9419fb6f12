"""Pages of classification under /classify/."""
