"""Running plans: the runner loop, executors behind one interface, history sink and sessions.

Nothing here is imported by planning code. Submodules are imported where they are used, so
starting the watchdog or one executor does not load the others (or Dask).
"""
