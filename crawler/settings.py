"""Crawl settings: polite to the sites we read, and safe for the machine we run on."""

from __future__ import annotations

BOT_NAME = "spaces"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
USER_AGENT = "SpacesBot/0.1 (+live audio spaces directory; obeys robots.txt)"

# Politeness: obey robots.txt, back off when a site slows down, few requests per site.
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.1
RETRY_TIMES = 1

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
    # Before OffsiteMiddleware (50) and RobotsTxtMiddleware (100): a forbidden host
    # must not even be asked for its robots.txt.
    "crawler.guard.GuardMiddleware": 40,
    # After the guard, so a refused host costs no budget and no Redis round trip.
    "crawler.budget.DomainBudgetMiddleware": 42,
    "crawler.revisit.RevisitMiddleware": 45,
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
# A link maze on one site ends here even where the depth limit alone would allow more.
SPACES_MAX_PAGES_PER_DOMAIN = 2000
SPACES_REVISIT_ENABLED = True

ITEM_PIPELINES = {"crawler.pipelines.CatalogPipeline": 300}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
