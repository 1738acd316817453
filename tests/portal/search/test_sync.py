"""The catalog keeps its search index in step after each commit."""

from portal.catalog.records import SpaceRecord
from portal.catalog.service import upsert_space
from portal.catalog.states import State
from portal.search.base import SearchQuery
from portal.services import Services


def test_committed_spaces_are_searchable(any_services: Services) -> None:
    with any_services.catalog.session() as session:
        upsert_space(
            session,
            SpaceRecord(
                url="http://rooms.test/s/1",
                kind="rooms",
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
