"""Ingest: partner feeds into the hub, batch by batch, idempotently, with a receipt for every row.

The protocol (``docs/ingest-api.md``): open a feed with its manifest, put its rows in numbered batches, commit. The
API and ``aim hub ingest`` both call :class:`aim.ingest.service.IngestService`, so a file and a push agree.
"""
