"""Business logic of classification, shared by pages, the API and the worker tasks."""
