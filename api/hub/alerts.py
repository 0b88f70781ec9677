"""Safeguarding API: alerts (list, acknowledge, assign, snooze, close, re-open), the watch list, notifications."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
