"""The catalog keeps its search index in step after each commit."""

from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.search.base import SearchQuery
from core.services import Services


def test_committed_spaces_are_searchable(any_services: Services) -> None:
    with any_services.catalog.session() as session:
        upsert_space(
            session,
            SpaceRecord(
                url="http://rooms.test/s/1",
                platform="rooms",
                title="Morning jazz",
                host_handle="ella",
                host_name="Ella",
                state=State.LIVE,
                listener_count=5,
                topics=["music"],
            ),
        )
    result = any_services.search.search(SearchQuery(q="jazz"))
    assert result.total == 1
    assert result.facets["topic"] == {"music": 1}
    assert any_services.search.suggest("ell") == ["Ella"]
    any_services.sync.reindex_all()
    assert any_services.search.search(SearchQuery(q="jazz", host="ella")).total == 1
