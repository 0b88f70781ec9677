"""The partner's agent: reads a raw extract, encodes it with the partnership key and writes a feed for the hub.

Modules: :mod:`~aim.agent.mapping` (partner headers to the minimum data set), :mod:`~aim.agent.extract` (streaming
CSV reading and the row checks), :mod:`~aim.agent.display` (the encrypted display block) and
:mod:`~aim.agent.encode` (the ``encode_extract`` service behind ``aim agent encode``).
"""
