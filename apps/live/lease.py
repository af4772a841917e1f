"""A Redis lease: at most one active race engine, with fencing by the lease value.

``SET key token NX PX ttl`` takes the lease (or finds it already holding our own token: a
Redis restarted from its append-only file brings back the lease we held, and waiting for it to
expire would stop the frames for a whole TTL for nothing); the holder renews it (``PEXPIRE`` only if the
value is still its own token) several times per TTL. A standby polls ``SET NX`` and takes over
within one TTL plus one poll interval after the holder dies. Every publish of the holder checks
the token inside the same Lua script (engine.py), so a holder that was paused past its TTL and
wakes up cannot publish anything once someone else holds the lease.
"""
from __future__ import annotations

import os
import socket
import uuid

import redis

_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, client: redis.Redis, key: str, ttl_ms: int):
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl_ms)
        # Unique per acquisition attempt series of this process: host, pid and a random part.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        return bool(self._acquire(keys=[self.key], args=[self.token, self.ttl_ms]))

    def renew(self) -> bool:
        return bool(self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> bool:
        return bool(self._release(keys=[self.key], args=[self.token]))

    def holder(self) -> str | None:
        return self.client.get(self.key)
