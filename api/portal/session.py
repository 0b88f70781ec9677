"""Signed-in sessions, held in the portal's memory: the browser keeps only a random session id (HttpOnly,
SameSite=Strict); the staff token never reaches the page. Each session has a CSRF token its forms carry."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

COOKIE = "aim_portal_session"


@dataclass(frozen=True)
class Undoable:
    """An identity change made in this session that the hub can reverse: its event id, ``merge`` or ``split``, and
    what it did in words."""

    event_id: int
    kind: str
    text: str


@dataclass
class Session:
    """One signed-in staff user, and the purpose and case reference they last declared."""

    sid: str
    token: str
    user_id: str
    name: str
    role: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    purpose: str | None = None
    case_reference: str | None = None
    flash: str | None = None
    undoable: list[Undoable] = field(default_factory=list)

    def pop_flash(self) -> str | None:
        message, self.flash = self.flash, None
        return message


class SessionStore:
    """Sessions by id; a restart of the portal signs everyone out."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, *, token: str, user_id: str, name: str, role: str) -> Session:
        session = Session(sid=secrets.token_urlsafe(32), token=token, user_id=user_id, name=name, role=role)
        with self._lock:
            self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            return self._sessions.get(sid)

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)
