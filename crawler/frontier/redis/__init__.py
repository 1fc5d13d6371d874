"""The Redis backend: a crawl shared by several processes through one Redis. Private to
:mod:`crawler.frontier` (whose ``open_shared_backend`` imports it only when a crawl asks for
it: this package imports redis-py); its tests import this face.
"""

from __future__ import annotations

from crawler.frontier.redis.backend import RedisBackend, open_redis_backend
from crawler.frontier.redis.cache import RedisCache
from crawler.frontier.redis.frontier import RedisFrontier
from crawler.frontier.redis.link import RedisLink, connect_redis
from crawler.frontier.redis.memory import RedisPageMemory
from crawler.frontier.redis.session import RedisSession
from crawler.frontier.redis.status import SharedStatus, read_shared_status, shared_status_lines

__all__ = [
    "RedisBackend",
    "RedisCache",
    "RedisFrontier",
    "RedisLink",
    "RedisPageMemory",
    "RedisSession",
    "SharedStatus",
    "connect_redis",
    "open_redis_backend",
    "read_shared_status",
    "shared_status_lines",
]
