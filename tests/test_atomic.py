import signal
import subprocess
import sys
import textwrap

import pytest

from capsnet.atomic import atomic_write, partial_path, remove_partial_writes


def test_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_error_during_a_write_keeps_the_old_file_and_removes_the_partial_one(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as f:
            f.write(b"half of the ne")
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM, which train.py turns into KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_kill_during_a_write_keeps_the_old_file_and_the_next_run_removes_the_rest(tmp_path):
    target = tmp_path / "model.pt"
    target.write_text("old")
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from capsnet.atomic import atomic_write
        with atomic_write({str(target)!r}) as f:
            f.write(b"x" * 1_000_000)
            f.flush()
            print("halfway", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "halfway\n"
    writer.send_signal(signal.SIGKILL)  # no cleanup code can run
    writer.wait()
    assert target.read_text() == "old"
    assert partial_path(target).stat().st_size == 1_000_000
    remove_partial_writes(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_next_write_replaces_what_a_killed_write_left(tmp_path):
    target = tmp_path / "model.pt"
    partial_path(target).write_bytes(b"half")
    with atomic_write(target) as f:
        f.write(b"whole")
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"] and target.read_bytes() == b"whole"
