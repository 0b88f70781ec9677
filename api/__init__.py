"""The edges: the hub's JSON API and the portal's screens. Routes parse, call one service and render."""
