"""The safeguarding team's side of event recognition: the alert lifecycle, the watch list and notifications.

Alert lifecycle: new -> acknowledged -> assigned -> closed (an outcome code from :data:`OUTCOMES` and a note are
mandatory), with snooze until a date and re-open. Evaluation may also re-open an alert (a new partner) or withdraw
it (a split link left too few partners). Watch-list entries need a reason, an owning team and a review date, and
expire unless renewed.
"""

from aim.alerts.service import OUTCOMES, AlertFilter, AlertService
from aim.alerts.watchlist import WatchlistService

__all__ = ["OUTCOMES", "AlertFilter", "AlertService", "WatchlistService"]
