"""The server's limits, from the environment, and its rate limiter (per client address, per
token, and a stricter one for failed sign-ins)."""

import hashlib
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_body: int  # bytes a request body may have (TIX_SERVE_MAX_BODY)
    request_seconds: float  # a request's time limit (TIX_SERVE_TIMEOUT)
    threads: int  # worker threads, hence store connections, per process (TIX_SERVE_THREADS)
    per_token: float  # requests per second one token may make, on average (TIX_SERVE_RATE)
    per_address: float  # requests per second from one address (TIX_SERVE_ADDRESS_RATE)
    failed_sign_ins: float  # failed sign-ins per minute from one address (TIX_SERVE_FAILED_LOGINS)

    @classmethod
    def from_environment(cls) -> "Limits":
        from tix import settings
        from tix.settings import positive_setting as number

        # Room for a few attachments at the store's limit, base64-encoded, and their text.
        default_body = 3 * settings.load().attachment_max_bytes * 4 // 3 + 1024 * 1024
        return cls(
            max_body=number("TIX_SERVE_MAX_BODY", default_body),
            request_seconds=number("TIX_SERVE_TIMEOUT", 30, float),
            threads=number("TIX_SERVE_THREADS", 8),
            per_token=number("TIX_SERVE_RATE", 20, float),
            per_address=number("TIX_SERVE_ADDRESS_RATE", 100, float),
            failed_sign_ins=number("TIX_SERVE_FAILED_LOGINS", 10, float),
        )


class _Buckets:
    """Token buckets: `rate` per second on average, up to `burst` at once."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.state: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def _refilled(self, key: str, now: float) -> float:
        tokens, then = self.state.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - then) * self.rate)

    def take(self, key: str) -> float:
        """0 if the request may go (and it is counted); else the seconds until it may."""
        now = time.monotonic()
        with self.lock:
            tokens = self._refilled(key, now)
            if tokens < 1:
                self.state[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self.state[key] = (tokens - 1, now)
            if len(self.state) > 100_000:  # forget the idle ones rather than grow without end
                self.state = {k: v for k, v in self.state.items() if now - v[1] < 600}
            return 0.0

    def wait(self, key: str) -> float:
        """The seconds until `key` has one left, counting nothing."""
        if key not in self.state:
            return 0.0
        with self.lock:
            tokens = self._refilled(key, time.monotonic())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


class RateLimiter:
    def __init__(self, limits: Limits):
        self.addresses = _Buckets(limits.per_address, limits.per_address * 2)
        self.tokens = _Buckets(limits.per_token, limits.per_token * 2)
        self.failures = _Buckets(limits.failed_sign_ins / 60, limits.failed_sign_ins)

    def check_address(self, address: str) -> float:
        """An address that used up its failed sign-ins waits, whatever token it sends next."""
        return self.failures.wait(address) or self.addresses.take(address)

    def check_token(self, token: str) -> float:
        # Keyed by a digest: the limiter never holds a usable token.
        return self.tokens.take(hashlib.sha256(token.encode("utf-8", "replace")).hexdigest())

    def failed_sign_in(self, address: str) -> float:
        return self.failures.take(address)
