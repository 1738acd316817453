"""Read the configuration from the environment, once, in one place."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: The crawler's product token: what robots.txt groups name to address it.
BOT_NAME = "SpacesBot"
BOT_VERSION = "1.0"


def bot_user_agent(portal_url: str) -> str:
    """Return the crawler's User-Agent: its product token and the page that explains it."""
    return f"{BOT_NAME}/{BOT_VERSION} (+{portal_url.rstrip('/')}/about/bot)"


#: Seconds the portal keeps a rendered search answer; Config.extra["response_cache_ttl_s"]
#: overrides it, 0 turns the cache off.
RESPONSE_CACHE_TTL_S = 5.0


def _data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("SPACES_DATA_DIR") or "var").resolve()


@dataclass(frozen=True)
class Config:
    """Every setting the portal, crawler and worker share."""

    data_dir: Path
    database_url: str
    redis_url: str = ""  # empty: an embedded Redis server under data_dir
    elasticsearch_url: str = ""
    rooms_url: str = "http://127.0.0.1:8100"
    portal_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    rooms_secret: str = ""
    crawl_allow: tuple[str, ...] = ()
    x_bearer_token: str = ""
    x_api_url: str = "https://api.x.com"  # operator-set, so not held to the crawl guard
    crawl_distributed: bool = False
    live_check_interval_s: float = 30.0
    #: Seconds a worker may go silent before its job counts as abandoned and runs again.
    worker_ttl_s: int = 30
    #: smtp:// or smtps:// with user:password@; empty: mail goes to data_dir/outbox.
    smtp_url: str = ""
    mail_from: str = "Spaces <spaces@localhost>"
    #: A session unused this long ends, and every session ends this long after sign-in.
    session_idle_s: int = 14 * 86_400
    session_max_s: int = 30 * 86_400
    #: /metrics answers only requests carrying `Authorization: Bearer <token>` when set.
    metrics_token: str = ""
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        """Build the configuration from SPACES_* variables, with embedded defaults."""
        env = dict(os.environ if env is None else env)
        data_dir = _data_dir(env)
        secret = env.get("SPACES_SECRET_KEY") or _persistent_secret(data_dir, "secret_key")
        rooms_secret = env.get("SPACES_ROOMS_SECRET") or _persistent_secret(
            data_dir, "rooms_secret"
        )
        allow = tuple(
            part.strip() for part in env.get("SPACES_CRAWL_ALLOW", "").split(",") if part.strip()
        )
        return cls(
            data_dir=data_dir,
            database_url=env.get("SPACES_DATABASE_URL") or f"sqlite:///{data_dir / 'spaces.db'}",
            redis_url=env.get("SPACES_REDIS_URL", ""),
            elasticsearch_url=env.get("SPACES_ELASTICSEARCH_URL", ""),
            rooms_url=(env.get("SPACES_ROOMS_URL") or cls.rooms_url).rstrip("/"),
            portal_url=(env.get("SPACES_PORTAL_URL") or cls.portal_url).rstrip("/"),
            secret_key=secret,
            rooms_secret=rooms_secret,
            crawl_allow=allow,
            x_bearer_token=env.get("SPACES_X_BEARER_TOKEN", ""),
            x_api_url=(env.get("SPACES_X_API_URL") or cls.x_api_url).rstrip("/"),
            crawl_distributed=env.get("SPACES_CRAWL_DISTRIBUTED", "") in ("1", "true", "yes"),
            live_check_interval_s=float(env.get("SPACES_LIVE_CHECK_INTERVAL", "30")),
            worker_ttl_s=_seconds(env, "SPACES_WORKER_TTL", cls.worker_ttl_s, least=2),
            smtp_url=env.get("SPACES_SMTP_URL", ""),
            mail_from=env.get("SPACES_MAIL_FROM") or cls.mail_from,
            session_idle_s=_seconds(env, "SPACES_SESSION_IDLE", cls.session_idle_s),
            session_max_s=_seconds(env, "SPACES_SESSION_MAX", cls.session_max_s),
            metrics_token=env.get("SPACES_METRICS_TOKEN", "").strip(),
            extra=_extra(env),
        )

    @property
    def response_cache_ttl_s(self) -> float:
        """Return how long search answers are cached; tests run uncached unless they ask."""
        default = 0.0 if self.testing else RESPONSE_CACHE_TTL_S
        return float(self.extra.get("response_cache_ttl_s", default))

    @property
    def user_agent(self) -> str:
        """Return the User-Agent every crawl and source poll sends: the bot and its page."""
        return bot_user_agent(self.portal_url)

    def with_(self, **changes: Any) -> Config:
        """Return a copy with some settings changed (tests, `spaces up`)."""
        return replace(self, **changes)

    def child_env(self) -> dict[str, str]:
        """Return environment variables that hand this configuration to a child process."""
        env = {
            "SPACES_DATA_DIR": str(self.data_dir),
            "SPACES_DATABASE_URL": self.database_url,
            "SPACES_REDIS_URL": self.redis_url,
            "SPACES_ELASTICSEARCH_URL": self.elasticsearch_url,
            "SPACES_ROOMS_URL": self.rooms_url,
            "SPACES_PORTAL_URL": self.portal_url,
            "SPACES_SECRET_KEY": self.secret_key,
            "SPACES_ROOMS_SECRET": self.rooms_secret,
            "SPACES_CRAWL_ALLOW": ",".join(self.crawl_allow),
            "SPACES_X_BEARER_TOKEN": self.x_bearer_token,
            "SPACES_X_API_URL": self.x_api_url,
            "SPACES_CRAWL_DISTRIBUTED": "1" if self.crawl_distributed else "",
            "SPACES_LIVE_CHECK_INTERVAL": str(self.live_check_interval_s),
            "SPACES_WORKER_TTL": str(self.worker_ttl_s),
            "SPACES_SMTP_URL": self.smtp_url,
            "SPACES_MAIL_FROM": self.mail_from,
            "SPACES_SESSION_IDLE": str(self.session_idle_s),
            "SPACES_SESSION_MAX": str(self.session_max_s),
            "SPACES_METRICS_TOKEN": self.metrics_token,
            "SPACES_TRUSTED_PROXIES": str(self.extra.get("trusted_proxies", "")),
            **{name: str(value) for name, value in self.extra.get("crawl_limits", {}).items()},
        }
        return {key: value for key, value in env.items() if value}


def _seconds(env: dict[str, str], name: str, default: int, least: int = 60) -> int:
    """Return the whole number of seconds (at least `least`) set in `name`, or `default`."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = int(value)
    except ValueError:
        raise ValueError(f"{name} must be whole seconds, not {value!r}") from None
    if seconds < least:
        raise ValueError(f"{name} must be at least {least} seconds, not {seconds}")
    return seconds


def _extra(env: dict[str, str]) -> dict[str, Any]:
    """Return the settings kept in `extra` that an operator sets from the environment."""
    extra: dict[str, Any] = {}
    proxies = env.get("SPACES_TRUSTED_PROXIES", "").strip()
    if proxies:
        try:
            extra["trusted_proxies"] = int(proxies)
        except ValueError:
            raise ValueError(
                f"SPACES_TRUSTED_PROXIES must be a whole number of proxies, not {proxies!r}"
            ) from None
    limits = _crawl_limits(env)
    if limits:
        extra["crawl_limits"] = limits
    return extra


#: Crawl limits an operator may set (crawler/settings.py has their defaults), as whole
#: numbers of pages or seconds.
CRAWL_LIMITS: dict[str, type[int] | type[float]] = {
    "SPACES_MAX_PAGES_PER_DOMAIN": int,
    "SPACES_CRAWL_MAX_PAGES": int,
    "SPACES_CRAWL_MAX_SECONDS": float,
    "SPACES_RETRY_AFTER_MAX_S": float,
}


def _crawl_limits(env: dict[str, str]) -> dict[str, int | float]:
    """Return the crawl limits set in `env`; ValueError names one that is not a number ≥ 0."""
    limits: dict[str, int | float] = {}
    for name, kind in CRAWL_LIMITS.items():
        value = env.get(name, "").strip()
        if not value:
            continue
        try:
            number = kind(value)
        except ValueError:
            number = -1
        if number < 0:
            what = "a whole number of pages" if kind is int else "a number of seconds"
            raise ValueError(f"{name} must be {what}, 0 or more (0: no limit), not {value!r}")
        limits[name] = number
    return limits


def _persistent_secret(data_dir: Path, name: str) -> str:
    """Return a random secret kept under data_dir, so restarts keep sessions and tokens."""
    path = data_dir / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        path.write_text(value)
        path.chmod(0o600)
        return value
