"""Search: the portal encodes a query (:func:`encode_query`), the hub finds, scores and groups candidates into
persons (:class:`SearchService`), and shows a person's activity and timeline, masked by policy."""

from aim.search.errors import QueryError
from aim.search.query import EncodedQuery, check_query, encode_query, thin_problem
from aim.search.service import SearchService
from aim.search.views import Interaction, PartnerActivity, PersonSummary, SearchResult, TimelinePage

__all__ = [
    "EncodedQuery",
    "Interaction",
    "PartnerActivity",
    "PersonSummary",
    "QueryError",
    "SearchResult",
    "SearchService",
    "TimelinePage",
    "check_query",
    "encode_query",
    "thin_problem",
]
