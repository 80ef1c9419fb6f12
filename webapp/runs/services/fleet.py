"""What the alive workers can train: launch settings no worker could run are refused before they queue.

A worker's heartbeat row records the device it trains on ("cuda (<name>)" or "cpu", see
webapp.core.heartbeat.describe_device) and its GPUs (heartbeat.list_devices); that is all this reads. A worker
counts only while its heartbeat is fresh (Worker.objects.alive()).
"""

from __future__ import annotations

from webapp.core.models import Worker
from webapp.runs.services import conf

# On a CPU the activations of one training step grow with the pixel count: a ResNet at 4096 px holds 335 times
# those of 224 px (tens of GB for a batch) and spends hours an epoch. 1024 px still trains, slowly.
CPU_MAX_IMAGE_SIZE = 1024


def training_workers() -> list[Worker]:
    """Return the alive workers of the queue runs go to (conf.run_queue(), whatever their device)."""
    queue = conf.run_queue()
    return [worker for worker in Worker.objects.alive().only("queues", "device", "devices")
            if queue in worker.queues.split(",")]


def fleet_has_cuda() -> bool:
    """Return whether an alive worker of the training queue trains on a CUDA GPU."""
    return any(worker.device.startswith("cuda") for worker in training_workers())


def device_problems(device: str, image_size: int) -> dict[str, str]:
    """Return {field: reason} for a device or image size that no alive worker could train."""
    has_cuda = fleet_has_cuda()
    problems = {}
    if device == "cuda" and not has_cuda:
        problems["device"] = ("No running worker has a GPU (CUDA), so this run would wait forever: choose "
                              "Automatic or CPU, or start a worker on a machine with a GPU.")
    on_cpu = device == "cpu" or not has_cuda
    if on_cpu and image_size > CPU_MAX_IMAGE_SIZE:
        why = "it would train on a CPU" if device == "cpu" else "no running worker has a GPU (CUDA)"
        problems["image_size"] = (f"{image_size} px is too large to train on a CPU ({why}): use at most "
                                  f"{CPU_MAX_IMAGE_SIZE} px, or a worker with a GPU.")
    return problems


def most_gpus() -> int:
    """Return the most GPUs one alive worker of the training queue has (0 when none has any)."""
    return max((len(worker.devices) for worker in training_workers()), default=0)


def gpus_problem(device: str, gpus: int) -> str | None:
    """Return why no alive worker could train a run on `gpus` GPUs, or None when one can.

    On the CPU, ranks are processes on one machine (gloo): any worker can start them. One run never spans
    machines, so asking for more GPUs than the biggest worker has is refused now rather than left waiting.
    """
    if gpus <= 1 or device == "cpu":
        return None
    most = most_gpus()
    if most >= gpus:
        return None
    have = f"the biggest running worker has {most}" if most else "no running worker has a GPU"
    return (f"This run asks for {gpus} GPUs but {have}, and one run trains on one machine: ask for at most "
            f"{max(most, 1)}, choose the CPU, or start a worker on a machine with {gpus} GPUs.")
