"""The crawl settings are the polite and safe ones, and the guard runs first."""

from __future__ import annotations

from scrapy.settings import Settings


def test_settings_are_polite_and_safe() -> None:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("DOWNLOAD_MAXSIZE") <= 2 * 1024 * 1024
    assert settings.getint("REDIRECT_MAX_TIMES") == 5
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 8
    assert not settings.getbool("COOKIES_ENABLED")
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")
    assert "SpacesBot" in settings.get("USER_AGENT")
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert all(handlers[scheme] is None for scheme in ("file", "data", "ftp", "s3"))
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    base = settings.getdict("DOWNLOADER_MIDDLEWARES_BASE")
    # Before the robots.txt and proxy middlewares, so neither can reach a forbidden host.
    guard = middlewares["crawler.guard.GuardMiddleware"]
    assert guard < base["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"]
    assert guard < base["scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware"]
    assert settings.get("TWISTED_DNS_RESOLVER") == "crawler.guard.GuardedResolver"
