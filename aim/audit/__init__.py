"""The audit log in the hub's database: serialised appends to the hash chain, signed checkpoints, verification,
search, and the reports built from it (subject access, transparency)."""
