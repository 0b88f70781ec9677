"""The DPO's API: audit log search and verification, break-glass review, transparency report, subject access."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
