"""Business logic of datasets, shared by pages, the API and Celery tasks (one module per concern).

- access: what a user may see (`dataset_for`, `image_for`, `live_images`)
- ingest: add one image, upload a batch, start a ZIP import (`add_image`, `upload_files`, `start_archive_import`;
  the import itself runs in webapp/datasets/worker.py)
- classes, bulk, splits: change labels, classes and splits
- versions: freeze immutable versions, read them for training, export them as a ZIP
- health: the numbers behind the health panel
- browse: the filters the image grid and the API list share
- datasets: create and delete whole datasets
"""
