"""The catalog's tables, one module per domain; every model is importable from here."""

from core.catalog.models.accounts import (
    Follow,
    LiveAnnouncement,
    Notification,
    Reminder,
    SavedSearch,
    SavedSearchHit,
    User,
)
from core.catalog.models.base import Base, UTCDateTime
from core.catalog.models.curation import AuditEntry, Ban, PickItem, PickList, Report, SpaceCuration
from core.catalog.models.hosting import HostClaim, HostedRoom, Submission
from core.catalog.models.people import AuthSession, Delivery, HostRequest, NotifyChoice, PushDevice
from core.catalog.models.sources import Source
from core.catalog.models.spaces import Host, Sighting, Space, SpaceCheck, StateChange

__all__ = [
    "AuditEntry",
    "AuthSession",
    "Ban",
    "Base",
    "Delivery",
    "Follow",
    "Host",
    "HostClaim",
    "HostRequest",
    "HostedRoom",
    "LiveAnnouncement",
    "Notification",
    "NotifyChoice",
    "PickItem",
    "PickList",
    "PushDevice",
    "Reminder",
    "Report",
    "SavedSearch",
    "SavedSearchHit",
    "Sighting",
    "Source",
    "Space",
    "SpaceCheck",
    "SpaceCuration",
    "StateChange",
    "Submission",
    "UTCDateTime",
    "User",
]
