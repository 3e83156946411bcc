"""Loaded by every Python process of scripts/test_at_odd_hours.sh (and only there, via PYTHONPATH).

libfaketime 0.9.10 cannot fake the monotonic clock and leave Python's waits working: with the
monotonic clock moved, every timed wait of a thread (threading.Event.wait, Lock.acquire with a
timeout, the 10 ms threading.Timer of `limits`' in-memory storage) blocks for good; with it left
alone (FAKETIME_DONT_FAKE_MONOTONIC=1, what the script sets), time.sleep fails with EINVAL,
because CPython sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) and libfaketime
shifts that deadline by the offset. A timed Event.wait sleeps just as long on the real monotonic
clock, so time.sleep does that here. Only the wall clock (time.time, datetime.now) is moved.
"""
import os
import threading
import time


def _sleep_on_an_event(seconds):
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")  # as time.sleep says
    if seconds > 0:
        threading.Event().wait(seconds)
    else:
        os.sched_yield()  # what sleep(0) does; the real one fails with EINVAL here too


time.sleep = _sleep_on_an_event
