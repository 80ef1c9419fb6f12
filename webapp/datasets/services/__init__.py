"""Business logic of datasets, shared by pages, the API and Celery tasks (one module per concern).

- ingest: add one image, upload a batch, import a ZIP (`add_image`, `upload_files`, `start_archive_import`,
  `import_archive`)
- classes, bulk, splits: change labels, classes and splits
- versions: freeze immutable versions, read them for training, export them as a ZIP
- health: the numbers behind the health panel
- browse: the filters the image grid and the API list share
- datasets: create and delete whole datasets
"""
