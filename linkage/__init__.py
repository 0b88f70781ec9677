"""Privacy-preserving record linkage: normalise, encode (partner side), compare, block, score and cluster.

A pure library: no database, no web framework, no imports from the application. Keys are parameters; nothing here
loads a key from disk.
"""
