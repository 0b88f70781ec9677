"""Retention: the nightly purge of records past their category's retention period, and everything derived."""
