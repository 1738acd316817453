"""The crawl settings are the polite and safe ones, and the guard runs first."""

from __future__ import annotations

from scrapy.settings import Settings

from core.config import Config


def settings() -> Settings:
    loaded = Settings()
    loaded.setmodule("crawler.settings", priority="project")
    return loaded


def test_settings_are_polite_and_safe() -> None:
    crawl = settings()
    assert crawl.getbool("ROBOTSTXT_OBEY")
    assert crawl.getbool("AUTOTHROTTLE_ENABLED")
    assert crawl.getint("DOWNLOAD_MAXSIZE") <= 2 * 1024 * 1024
    assert crawl.getint("REDIRECT_MAX_TIMES") == 5
    # One request at a time to any host, many hosts at once.
    assert crawl.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert crawl.getint("CONCURRENT_REQUESTS") >= 16
    assert not crawl.getbool("COOKIES_ENABLED")
    assert not crawl.getbool("TELNETCONSOLE_ENABLED")
    assert not crawl.getbool("REMOTE_CONTROL_ENABLED")
    default = Config.from_env({"SPACES_DATA_DIR": "/nonexistent", "SPACES_SECRET_KEY": "k",
                               "SPACES_ROOMS_SECRET": "r"})  # fmt: skip
    assert crawl.get("USER_AGENT") == default.user_agent
    assert default.user_agent == "SpacesBot/1.0 (+http://127.0.0.1:8000/about/bot)"
    handlers = crawl.getdict("DOWNLOAD_HANDLERS")
    assert all(handlers[scheme] is None for scheme in ("file", "data", "ftp", "s3"))
    assert crawl.get("TWISTED_DNS_RESOLVER") == "crawler.guard.GuardedResolver"


def test_every_crawl_is_bounded() -> None:
    crawl = settings()
    assert 0 < crawl.getint("SPACES_MAX_PAGES_PER_DOMAIN") <= crawl.getint("SPACES_CRAWL_MAX_PAGES")
    assert 0 < crawl.getfloat("SPACES_CRAWL_MAX_SECONDS") <= 3600
    assert (
        0 < crawl.getfloat("SPACES_RETRY_AFTER_MAX_S") < crawl.getfloat("SPACES_CRAWL_MAX_SECONDS")
    )


def test_middlewares_run_in_a_safe_and_polite_order() -> None:
    crawl = settings()
    middlewares = {**crawl.getdict("DOWNLOADER_MIDDLEWARES_BASE"),
                   **crawl.getdict("DOWNLOADER_MIDDLEWARES")}  # fmt: skip
    # Scrapy's robots.txt middleware reads a failing robots.txt as leave to crawl all.
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    guard = middlewares["crawler.guard.GuardMiddleware"]
    robots = middlewares["crawler.robots.RobotsMiddleware"]
    # The guard first, so no forbidden host is asked even for its robots.txt; the
    # budgets before robots.txt, so a maze of new host names costs no robots.txt each.
    assert guard < middlewares["crawler.budget.CrawlBudgetMiddleware"] < robots
    assert guard < middlewares["crawler.budget.DomainBudgetMiddleware"] < robots
    assert guard < middlewares["scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware"]
    # Our User-Agent replaces the default one; a Retry-After is seen before a plain retry.
    politeness = middlewares["crawler.politeness.PolitenessMiddleware"]
    assert middlewares["scrapy.downloadermiddlewares.useragent.UserAgentMiddleware"] < politeness
    assert middlewares["scrapy.downloadermiddlewares.retry.RetryMiddleware"] < politeness
