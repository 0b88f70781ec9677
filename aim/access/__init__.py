"""Staff access: users and bearer tokens, the policy decision on every staff request, and its audit entry.

:class:`~aim.access.service.AccessControl` is what the API's ``authorise`` dependency calls; see
:mod:`api.hub.access` for the contract routes rely on.
"""
