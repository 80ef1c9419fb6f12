"""A real local HTTP server for download tests: serves files from a folder, and can cut a file short."""

from __future__ import annotations

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch


class _Handler(SimpleHTTPRequestHandler):
    """Serve the folder; a file listed in `cut` promises its whole length and closes after half of it."""

    cut: set[str] = set()

    def do_GET(self):  # noqa: N802 (http.server's spelling)
        name = self.path.rsplit("/", 1)[-1]
        if name not in self.cut:
            return super().do_GET()
        data = (Path(self.directory) / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):  # keep test output quiet
        pass


class WeightsServer:
    """Serve `folder` on 127.0.0.1 from a thread; `base_url` is what LUX_WEIGHTS_BASE_URL would be."""

    def __init__(self, folder: Path):
        self.folder = folder
        handler = type("Handler", (_Handler,), {"cut": set()})
        self.cut = handler.cut
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> WeightsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def sha256_named(folder: Path, stem: str, state_dict: dict, suffix: str = ".pth") -> Path:
    """Save `state_dict` in `folder` named as torchvision names files: stem-<first 8 hex of its SHA-256>."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f"{stem}.tmp"
    torch.save(state_dict, staged)
    digest = hashlib.sha256(staged.read_bytes()).hexdigest()
    path = folder / f"{stem}-{digest[:8]}{suffix}"
    staged.rename(path)
    return path
