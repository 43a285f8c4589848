"""At most one network pass or view in the making per core at once; the rest wait their turn, views first.

The demo runs one PyTorch thread per request (__main__.py) and Gradio up to 40 requests at once. Run all at once, a
class's predictions and views shared the cores and each took about twice the CPU time; taking turns, a class of 50
is answered several times sooner (figures: docs/in-page-network.md, "A classroom"). A waiting view
goes before a waiting prediction: a stroke already predicted is finished before another stroke is started. Images
are read and framed before a turn is taken (memory.py has their own lock), so a big upload never holds a turn.
"""

import os
import threading
from contextlib import contextmanager

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Turns:
    """count turns at once; `with turns.take(view=True):` for a view, `with turns.take():` for a network pass."""

    def __init__(self, count: int):
        self.free, self.waiting, self.views_waiting = count, 0, 0
        self.changed = threading.Condition()

    @contextmanager
    def take(self, view: bool = False):
        with self.changed:
            self.waiting += 1
            self.views_waiting += view
            self.changed.wait_for(lambda: self.free > 0 and (view or self.views_waiting == 0))
            self.views_waiting -= view
            self.waiting -= 1
            self.free -= 1
        try:
            yield
        finally:
            with self.changed:
                self.free += 1
                self.changed.notify_all()


CORE_TURNS = Turns(CORES)
