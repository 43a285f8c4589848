"""At most one network pass or view in the making per core at once; the rest wait their turn.

The demo runs one PyTorch thread per request (__main__.py) and Gradio up to 40 requests at once. Run all at once, a
class's predictions and views shared the cores and each took about twice the CPU time; taking turns, 50 people
drawing at once are answered within the classroom's target (docs/in-page-network.md, "A classroom"). Images are
read and framed before a turn is taken (memory.py has their own lock), so a big upload never holds a core's turn.
"""

import os
import threading

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
CORE_TURNS = threading.BoundedSemaphore(CORES)  # `with CORE_TURNS:` around a network pass or a view
