"""The PostgreSQL backend's table, its indexes, and the statements that write it."""

from __future__ import annotations

TABLE = "search_spaces"

# `tsv` holds the words weighted title A, host B, topics C, description D.
CREATE = """CREATE TABLE IF NOT EXISTS {table} (
    id bigint PRIMARY KEY,
    title text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    host_name text NOT NULL DEFAULT '',
    host_handle text NOT NULL DEFAULT '',
    topics text[] NOT NULL DEFAULT '{{}}',
    lang text NOT NULL DEFAULT '',
    state text NOT NULL DEFAULT '',
    live boolean NOT NULL DEFAULT false,
    featured boolean NOT NULL DEFAULT false,
    listener_count integer NOT NULL DEFAULT 0,
    popularity double precision NOT NULL DEFAULT 0,
    activity double precision,
    scheduled_start double precision,
    tsv tsvector NOT NULL
)"""

# Columns added after the first release; ensure() adds them to older tables in place.
ADDED = (
    "ALTER TABLE search_spaces ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0",
    "ALTER TABLE search_spaces ADD COLUMN IF NOT EXISTS boost double precision NOT NULL DEFAULT 1",
    # Title, host and topic words, for "did you mean" (nearest known word).
    "CREATE TABLE IF NOT EXISTS search_spaces_vocab (term text PRIMARY KEY, docs integer NOT NULL"
    " DEFAULT 1)",
)


def index_statements(table: str, suffix: str = "") -> list[str]:
    """Return the indexes of a search table (named with `suffix` while it is a shadow)."""
    return [
        f"CREATE INDEX IF NOT EXISTS ix_search_spaces_tsv{suffix} ON {table} USING gin (tsv)",
        f"CREATE INDEX IF NOT EXISTS ix_search_spaces_topics{suffix} ON {table} USING gin (topics)",
        f"CREATE INDEX IF NOT EXISTS ix_search_spaces_rank{suffix}"
        f" ON {table} (live DESC, listener_count DESC, activity DESC)",
    ]


# Each field is indexed twice: stemmed ('english', so "podcasts" finds "podcast") and as
# written ('simple', so stop words like "again" and partly typed words still match). A row
# is replaced only by the same or a newer version: late or replayed writes lose.
UPSERT = """
INSERT INTO {table} (id, title, description, host_name, host_handle, topics, lang,
    state, live, featured, listener_count, popularity, activity, scheduled_start, version,
    boost, tsv)
VALUES (:id, :title, :description, :host_name, :host_handle, :topics, :lang, :state, :live,
    :featured, :listener_count, :popularity, :activity, :scheduled_start, :version, :boost,
    setweight(to_tsvector('english', :title_text) || to_tsvector('simple', :title_text), 'A')
    || setweight(to_tsvector('english', :host_text) || to_tsvector('simple', :host_text), 'B')
    || setweight(to_tsvector('english', :topic_text) || to_tsvector('simple', :topic_text), 'C')
    || setweight(
        to_tsvector('english', :description_text)
        || to_tsvector('simple', :description_text), 'D'))
ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
    host_name = excluded.host_name, host_handle = excluded.host_handle,
    topics = excluded.topics, lang = excluded.lang, state = excluded.state,
    live = excluded.live, featured = excluded.featured,
    listener_count = excluded.listener_count, popularity = excluded.popularity,
    activity = excluded.activity, scheduled_start = excluded.scheduled_start,
    version = excluded.version, boost = excluded.boost, tsv = excluded.tsv
WHERE {table}.version <= excluded.version
"""

VOCAB = (
    "INSERT INTO search_spaces_vocab (term) SELECT DISTINCT unnest(CAST(:terms AS text[]))"
    " ON CONFLICT (term) DO UPDATE SET docs = search_spaces_vocab.docs + 1"
)
