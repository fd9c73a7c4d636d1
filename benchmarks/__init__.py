"""Benchmarks: `python -m benchmarks <name>` runs `benchmarks/<name>.py:main()` and prints numbers.

They measure speed and memory targets of the issues; they never assert timings (tests do not
either), so a slow CI machine reports numbers instead of failing.
"""
