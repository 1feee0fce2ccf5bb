"""A local HTTP MJPEG camera (multipart/x-mixed-replace) on 127.0.0.1, and generated video.

The stream is paced at ``fps`` by the server; the frames show a bright bar moving
one step per frame, so a reader can tell which frames it got. ``stop()`` and
``start()`` reuse the same port, as a camera that reboots would.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

__all__ = ["MjpegServer", "moving_bar", "bar_position", "write_video"]

BAR = 8  # bar width in pixels; it moves BAR/2 pixels per frame


def moving_bar(index: int, width: int = 320, height: int = 240) -> np.ndarray:
    """Frame ``index``: black, with a white vertical bar whose left edge is at ``(index * BAR/2) % width``."""
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    left = (index * BAR // 2) % (width - BAR)
    frame[:, left:left + BAR] = 255
    return frame


def bar_position(row: np.ndarray, width: int, height: int) -> float:
    """Centre of brightness (in output pixels) of a grey feature row of ``width * height``."""
    image = row.reshape(height, width)
    profile = image.mean(axis=0)
    return float((profile * np.arange(width)).sum() / profile.sum())


def write_video(path: Path, fourcc: str, frames: int, fps: float, size: tuple[int, int] = (320, 240)) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path.name}"
    for i in range(frames):
        writer.write(moving_bar(i, *size))
    writer.release()
    return path


class MjpegServer:
    """Serves ``/stream.mjpg`` at ``fps`` until stopped; ``frames_sent`` counts parts written.

    By default the moving bar, round and round; given ``frames`` (BGR arrays), those, once
    (``started`` is the wall time the first was written, ``finished`` is set after the last;
    the connection then stays open and quiet, as a camera whose scene froze would not be).
    """

    def __init__(self, fps: float = 30.0, port: int = 0, frames: list[np.ndarray] | None = None) -> None:
        import cv2

        self.fps = fps
        self.frames_sent = 0
        self._once = frames is not None
        self._jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for f in (frames or [moving_bar(i) for i in range(64)])]
        self.started: float | None = None
        self.finished = threading.Event()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> "MjpegServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/stream.mjpg":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                owner._serve(self.wfile)

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _serve(self, out) -> None:
        t0, i = time.monotonic(), 0
        self.started = self.started or time.time()
        try:
            while not self._stopping.is_set():
                if self._once and i == len(self._jpegs):
                    self.finished.set()
                    self._stopping.wait()
                    return
                jpeg = self._jpegs[i % len(self._jpegs)]
                out.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg))
                out.write(jpeg + b"\r\n")
                out.flush()
                self.frames_sent += 1
                i += 1
                delay = t0 + i / self.fps - time.monotonic()
                if delay > 0:
                    self._stopping.wait(delay)
        except (BrokenPipeError, ConnectionResetError):
            return

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> "MjpegServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
