"""The data steward's review queue: pending pairs with per-field agreement levels, accept or reject, split a person."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
