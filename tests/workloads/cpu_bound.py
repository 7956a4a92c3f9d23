"""CPU-bound Python for the unwinding tests and benchmarks: recursive calls
and a dict/list workload in the interpreter, nothing in C extensions.

Usage: python3 cpu_bound.py [SECONDS]   (default 3; 0 = until killed)
Prints "ready PID" once it starts working.
"""
import os
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def churn(n):
    d = {}
    for i in range(n):
        d[i % 97] = d.get(i % 97, 0) + i
    return sorted(d.values())[-1]


def work(seconds):
    end = time.monotonic() + seconds
    total = 0
    while seconds == 0 or time.monotonic() < end:
        total += fib(16) + churn(2000)
    return total


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    print(f"ready {os.getpid()}", flush=True)
    work(secs)
