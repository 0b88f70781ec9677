"""The hub's JSON API (FastAPI). Routes parse, call one service and render; status codes live only here."""
