"""The code classification's Celery tasks call, one module per job kind; the request-side halves are in services/.

- jobs: batch jobs (claim, stream the images through the model, write results and progress)
- evaluation: the Evaluation a job over a labelled dataset version stores
- quick: the quick test's few images, answered while a person waits
- explain: Grad-CAM or attention rollout, feature maps and filters of one image
- export: TorchScript or ONNX export with its parity check
"""
