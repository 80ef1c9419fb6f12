"""The dataset pages, one module per page group."""
