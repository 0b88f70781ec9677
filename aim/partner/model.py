"""A registered partner and its data-sharing agreement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ACTIVE = "active"
SUSPENDED = "suspended"


@dataclass(frozen=True)
class Partner:
    pk: int
    code: str
    name: str
    partner_type: str | None
    agreement_ref: str
    agreement_from: date
    agreement_until: date
    status: str
    status_reason: str | None = None

    def refusal(self, today: date) -> str | None:
        """Why feeds from this partner are refused today, or None when its agreement is active."""
        if self.status != ACTIVE:
            return f"partner {self.code}'s data-sharing agreement is suspended: feeds are refused until reinstated"
        if today < self.agreement_from:
            return f"partner {self.code}'s data-sharing agreement starts on {self.agreement_from.isoformat()}"
        if today > self.agreement_until:
            return (
                f"partner {self.code}'s data-sharing agreement ended on {self.agreement_until.isoformat()}: "
                "renew it (aim hub partners renew) before sending feeds"
            )
        return None
