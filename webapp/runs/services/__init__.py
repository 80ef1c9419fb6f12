"""Business logic of training runs, shared by pages, the API and the worker tasks."""
