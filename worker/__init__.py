"""Background work: crawl jobs, liveness checks and their periodic schedule, on RQ."""
