"""Crawl settings: polite to the sites we read, and safe for the machine we run on."""

from __future__ import annotations

from core.config import Config, bot_user_agent

BOT_NAME = "spaces"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# The configured one (Config.user_agent, naming the portal's /about/bot page) replaces
# this in every request; see crawler.politeness.
USER_AGENT = bot_user_agent(Config.portal_url)

# Politeness: obey robots.txt (RFC 9309, crawler.robots) and its Crawl-delay, wait as
# long as a Retry-After says, back off when a site slows down, one request at a time
# per host; many hosts at once, so a crawl across sites stays fast.
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 0.1
RETRY_TIMES = 1
#: A Retry-After longer than this is not waited for: the host is left for the next crawl.
SPACES_RETRY_AFTER_MAX_S = 300.0

# Bounds: a hostile or broken site must not hold the crawler or fill its memory.
# HttpCompressionMiddleware applies DOWNLOAD_MAXSIZE to the decompressed body too,
# so a small gzip bomb is refused as well as a large plain page.
DOWNLOAD_MAXSIZE = 2 * 1024 * 1024
DOWNLOAD_WARNSIZE = 1024 * 1024
DOWNLOAD_TIMEOUT = 15
DNS_TIMEOUT = 10
DEPTH_LIMIT = 1  # replaced by the crawl's own depth
REDIRECT_MAX_TIMES = 5
# Breadth-first, so each page is reached by its shortest path: depth-first with a
# duplicate filter can reach a page deep first and then drop the pages below it.
DEPTH_PRIORITY = 1
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
URLLENGTH_LIMIT = 2083

# Safety: only http(s), every request and redirect hop checked, answers of DNS checked
# again at connect time, no cookies carried between sites, no remote consoles.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}
DOWNLOADER_MIDDLEWARES = {
    # Before OffsiteMiddleware (50) and robots.txt (100): a forbidden host must not
    # even be asked for its robots.txt.
    "crawler.guard.GuardMiddleware": 40,
    # After the guard, so a refused host costs no budget and no Redis round trip;
    # before robots.txt, so a maze of new host names stops without asking each one.
    "crawler.budget.CrawlBudgetMiddleware": 41,
    "crawler.budget.DomainBudgetMiddleware": 42,
    "crawler.revisit.RevisitMiddleware": 45,
    # Scrapy's own treats a robots.txt that fails as leave to crawl everything.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.RobotsMiddleware": 100,
    # After UserAgentMiddleware (500), whose header it replaces; sees answers before
    # RetryMiddleware (550), so a Retry-After is waited for instead of retried at once.
    "crawler.politeness.PolitenessMiddleware": 560,
    # Sees responses before RedirectMiddleware (600) does, so it can stop at X and the like.
    "crawler.shorteners.SpaceLinkRedirectMiddleware": 650,
}
TWISTED_DNS_RESOLVER = "crawler.guard.GuardedResolver"
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 also starts an HTTP server that runs code sent to it; never in a crawler
# that reads strangers' pages.
REMOTE_CONTROL_ENABLED = False
SPACES_CRAWL_ALLOW: list[str] = []
#: The name of the setting that hands the process's configuration (a core.config.Config,
#: read once when the crawl starts) to the pipeline and middlewares that need it.
CONFIG_SETTING = "SPACES_CONFIG"
# A link maze on one site (its subdomains included) ends here even where the depth
# limit alone would allow more; and every crawl ends after so many pages or seconds
# (0 turns a budget off). See crawler.budget.
SPACES_MAX_PAGES_PER_DOMAIN = 2000
SPACES_CRAWL_MAX_PAGES = 20_000
SPACES_CRAWL_MAX_SECONDS = 1800.0
SPACES_REVISIT_ENABLED = True

ITEM_PIPELINES = {"crawler.pipelines.CatalogPipeline": 300}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
