"""A local Bot API that enforces Telegram's sending limits, for tests and benchmarks.

`LimitedBotAPI` answers a message that would exceed a limit the way Telegram does: error 429,
"Too Many Requests: retry after N", with `parameters.retry_after`. The limits are kept as sliding
windows, strictly: 30 messages in any second overall, 1 per second in a private chat, 20 in any
minute in a group. Every accepted message is kept with its time, so that a test can check the
peaks itself. Serve it over HTTP with `LocalBotAPIServer(LimitedBotAPI())`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.local_api import ApiCall, LocalBotAPI

GLOBAL_LIMIT = 30  # messages per second, all chats
PRIVATE_LIMIT = 1  # per second, per private chat
GROUP_LIMIT = 20  # per minute, per group
SENDING = {"sendMessage", "sendDocument", "sendPhoto", "sendVoice"}


class LimitedBotAPI(LocalBotAPI):
    def __init__(self, clock: Callable[[], float] = time.monotonic, jitter: float = 0.0) -> None:
        super().__init__()
        self.clock = clock
        # Seconds by which a request may reach this fake later than it left its sender (a fake
        # served from a busy process): the windows are counted that much shorter.
        self.jitter = jitter
        self.window: deque[float] = deque()
        self.per_chat: dict[int, deque[float]] = {}
        self.accepted: list[tuple[float, int]] = []  # (time, chat id) of each message accepted
        self.rejected = 0
        self.rejected_global = 0  # of which for the 30 per second overall

    def retry_after(self, chat_id: int, now: float) -> int | None:
        """Seconds to wait before a message to `chat_id` is accepted, or None: accepted now."""
        while self.window and now - self.window[0] >= 1 - self.jitter:
            self.window.popleft()
        if len(self.window) >= GLOBAL_LIMIT:
            self.rejected_global += 1
            return 1
        span, limit = (60, GROUP_LIMIT) if chat_id < 0 else (1, PRIVATE_LIMIT)
        times = self.per_chat.setdefault(chat_id, deque())
        while times and now - times[0] >= span - self.jitter:
            times.popleft()
        if len(times) >= limit:
            return max(1, int(span - (now - times[0])) + 1)
        return None

    def _answer(self, call: ApiCall, files: dict[str, Any]) -> dict[str, Any]:
        if call.method in SENDING and call.params.get("chat_id") is not None:
            chat_id = int(call.params["chat_id"])
            now = self.clock()
            wait = self.retry_after(chat_id, now)
            if wait is not None:
                self.rejected += 1
                if call in self.calls:
                    self.calls.remove(call)  # not delivered
                return {"ok": False, "error_code": 429,
                        "description": f"Too Many Requests: retry after {wait}",
                        "parameters": {"retry_after": wait}}
            self.window.append(now)
            self.per_chat[chat_id].append(now)
            self.accepted.append((now, chat_id))
        return super()._answer(call, files)

    def peak_per_second(self) -> int:
        """The most messages accepted within any one second."""
        return peak_per_second(self.accepted, self.jitter)

    def peak_per_group_minute(self) -> int:
        """The most messages accepted by one group within any one minute."""
        return peak_per_group_minute(self.accepted, self.jitter)


def peak_per_second(accepted: list[tuple[float, int]], jitter: float = 0.0) -> int:
    """The most of these (time, chat id) messages within any one second."""
    return _peak([t for t, _ in accepted], 1.0 - jitter)


def peak_per_group_minute(accepted: list[tuple[float, int]], jitter: float = 0.0) -> int:
    """The most of these (time, chat id) messages to one group within any one minute."""
    groups: dict[int, list[float]] = {}
    for t, chat_id in accepted:
        if chat_id < 0:
            groups.setdefault(chat_id, []).append(t)
    return max((_peak(times, 60.0 - jitter) for times in groups.values()), default=0)


def tightest_span(accepted: list[tuple[float, int]], count: int = GLOBAL_LIMIT + 1) -> float:
    """The shortest time in which `count` of these messages arrived (31 within less than a
    second is what Telegram refuses); infinity when there are fewer."""
    times = sorted(t for t, _ in accepted)
    return min((times[i + count - 1] - times[i] for i in range(len(times) - count + 1)),
               default=float("inf"))


def _peak(times: list[float], span: float) -> int:
    times = sorted(times)
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= span:
            first += 1
        best = max(best, last - first + 1)
    return best
