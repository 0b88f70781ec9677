"""The demonstration partnership on one machine: a synthetic population pushed by the eight demo partners' agents to a
hub on SQLite, linked, with the rules run and one staff user per role of the demo policy.

:mod:`aim.demo.setup` builds the data (once; a second start reuses it); :mod:`aim.demo.servers` runs the hub and the
portal under uvicorn as child processes. ``aim demo`` and the browser tests both use them.
"""

from aim.demo.setup import DEMO_USERS, DemoLayout, DemoUserSpec, load_feeds, prepare, staff_sign_ins, suggestions

__all__ = ["DEMO_USERS", "DemoLayout", "DemoUserSpec", "load_feeds", "prepare", "staff_sign_ins", "suggestions"]
