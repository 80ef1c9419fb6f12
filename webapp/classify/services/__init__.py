"""Business logic of classification, shared by pages, the API and worker/ (the code the Celery tasks call)."""
