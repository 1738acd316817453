"""The catalog: spaces, hosts, sightings, sources and their history."""

# Admins' overrides and bans hold for every writer of the catalog: the flush hook that
# keeps them is registered wherever the catalog is imported.
from core.catalog import curation as _curation  # noqa: E402, F401
