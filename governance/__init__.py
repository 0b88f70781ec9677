"""Governance: the DPO's access policy, the hash-chained audit log and retention, behind small interfaces.

A pure library: no web framework, no database driver, no imports from the application.
"""
