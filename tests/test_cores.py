"""demo/server/cores.py: network passes and views take turns, as many at once as there are cores, views first."""

import threading
import time

import pytest

from demo.server.cores import Turns

def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the thread never got there"
        time.sleep(0.001)


def start(target, until) -> threading.Thread:
    """Starts target in a thread and returns once until() holds (the thread has reached its turn or its wait)."""
    thread = threading.Thread(target=target)
    thread.start()
    wait_until(until)
    return thread


def test_no_more_than_count_hold_a_turn_at_once():
    turns, lock, running, most = Turns(2), threading.Lock(), [0], [0]

    def work():
        with turns.take():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_a_waiting_view_goes_before_a_prediction_that_waited_longer():
    turns, order, release = Turns(1), [], threading.Event()

    def holder():
        with turns.take():
            release.wait()

    def waiter(name: str, view: bool):
        with turns.take(view=view):
            order.append(name)

    threads = [start(holder, lambda: turns.free == 0), start(lambda: waiter("prediction", False), lambda: turns.waiting == 1),
               start(lambda: waiter("view", True), lambda: turns.waiting == 2)]
    release.set()
    for thread in threads:
        thread.join()
    assert order == ["view", "prediction"]


def test_a_turn_is_given_back_when_the_work_fails():
    turns = Turns(1)
    with pytest.raises(ValueError):
        with turns.take():
            raise ValueError("a failing view")

    def next_work():
        with turns.take():
            pass

    thread = threading.Thread(target=next_work, daemon=True)  # waits for ever if the turn was kept
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
