"""The words the audit log uses: what each action did, what undoing it does, field names."""

from __future__ import annotations

#: What each action did, said before the thing it was done to.
VERBS: dict[str, str] = {
    "hide": "hid the space",
    "unhide": "unhid the space",
    "feature": "featured the space",
    "unfeature": "stopped featuring the space",
    "pin": "pinned the space",
    "unpin": "unpinned the space",
    "edit": "edited the space",
    "merge": "merged the space",
    "unmerge": "unmerged the space",
    "unedit": "put back the title and topics of the space",
    "ban host": "banned host",
    "unban host": "lifted the ban on host",
    "ban domain": "banned the domain",
    "unban domain": "lifted the ban on the domain",
    "add source": "added the crawl source",
    "pause source": "paused the crawl source",
    "resume source": "resumed the crawl source",
    "remove source": "removed the crawl source",
    "restore source": "restored the crawl source",
    "recrawl source": "asked for a crawl now of",
    "review submission": "accepted the submitted link",
    "reject submission": "rejected the submitted link",
    "reopen submission": "reopened the submitted link",
    "resolve report": "resolved a report on the space",
    "reopen report": "reopened a report on the space",
    "approve claim": "approved a claim to host",
    "reject claim": "rejected a claim to host",
    "reopen claim": "reopened a claim to host",
    "create picks": "created the collection",
    "rename picks": "renamed the collection",
    "delete picks": "deleted the collection",
    "restore picks": "restored the collection",
    "reindex": "asked for a rebuild of",
}
#: What undoing an action does, as the action that says so.
INVERSE: dict[str, str] = {
    "hide": "unhide",
    "unhide": "hide",
    "feature": "unfeature",
    "unfeature": "feature",
    "pin": "unpin",
    "unpin": "pin",
    "edit": "unedit",
    "merge": "unmerge",
    "ban host": "unban host",
    "unban host": "ban host",
    "ban domain": "unban domain",
    "unban domain": "ban domain",
    "add source": "remove source",
    "remove source": "restore source",
    "pause source": "resume source",
    "resume source": "pause source",
    "review submission": "reopen submission",
    "reject submission": "reopen submission",
    "resolve report": "reopen report",
    "approve claim": "reopen claim",
    "reject claim": "reopen claim",
    "create picks": "delete picks",
    "delete picks": "restore picks",
    "add pick": "remove pick",
    "remove pick": "add pick",
}
#: The fields the log shows, by the words people use for them; the rest is bookkeeping.
FIELDS: dict[str, str] = {
    "exists": "Exists",
    "hidden": "Hidden",
    "featured": "Featured",
    "pinned": "Pinned",
    "title": "Title",
    "topics": "Topics",
    "merged_into": "Merged into",
    "banned": "Banned",
    "paused": "Paused",
    "kind": "Kind",
    "interval_s": "Crawl every",
    "depth": "Depth",
    "status": "Status",
    "name": "Name",
    "space_ids": "Spaces",
}


def undone_as(action: str) -> str:
    """Return the action an undo of `action` amounts to ("hide" → "unhide")."""
    return INVERSE.get(action, f"undo {action}")
