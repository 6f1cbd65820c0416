"""Turns for outgoing Telegram messages: one pace overall and one per chat, each a generic cell rate algorithm
(GCRA: `rate` per second, `burst` at once), kept by `MemoryPaces` in this process or by `RedisPaces` in Redis
(`REDIS_URL`), where every replica takes its turns from the same paces.

Two ways to take a turn, which is how answers to a user go ahead of the engine's messages (`flood.in_background`):
`reserve` takes the next turn even if it lies ahead (the caller sleeps until then), `take_if_free` takes one only
when it is free now. With the paces in Redis the rule holds across replicas: a background message on one replica
yields to the answers another replica has reserved. While Redis cannot be reached, `RedisPaces` keeps the paces in
the process (a 429 is then possible; it is waited out as Telegram says).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Chat = Any  # a chat id (int or @username); None: a method without a chat

from kiebot.redis_clock import lua_now


class Paces(Protocol):
    async def reserve(self, chat: Chat | None) -> float:
        """Take the next turn overall and in `chat`; returns how many seconds until it comes."""

    async def take_if_free(self, chat: Chat | None) -> float:
        """Take a turn only if one is free now (returns 0), else return how long until one may be."""

    async def hold_off(self, chat: Chat | None, seconds: float) -> None:
        """Telegram asked us to wait: nothing more goes to `chat` before then."""

    async def answered(self, chat: Chat | None) -> None:
        """Telegram answered a message to `chat` (so counted it by now): the chat's pace counts it from now on,
        however late it arrived there."""


class Pace:
    """GCRA: `rate` per second, `burst` at once. `reserve()` says how long to wait."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.clock = clock
        self._tat = 0.0  # theoretical arrival time of the next message

    def reserve(self) -> float:
        delay = self.wait_time()
        self._tat = max(self._tat, self.clock()) + self.interval
        return delay

    def wait_time(self) -> float:
        """How long until a turn is free, without taking it."""
        now = self.clock()
        return max(0.0, max(self._tat, now) - self.tolerance - now)

    def hold_off(self, seconds: float) -> None:
        self._tat = max(self._tat, self.clock() + seconds)


class MemoryPaces:
    """The paces of this process alone."""

    def __init__(self, global_rate: float, chat_rate: float, chat_burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.global_pace = Pace(global_rate, int(global_rate), clock)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self._chats: dict[Chat, Pace] = {}

    async def reserve(self, chat: Chat | None) -> float:
        chat_pace = self._chat(chat)
        return max(self.global_pace.reserve(), chat_pace.reserve() if chat_pace else 0.0)

    async def take_if_free(self, chat: Chat | None) -> float:
        chat_pace = self._chat(chat)
        delay = max(self.global_pace.wait_time(), chat_pace.wait_time() if chat_pace else 0.0)
        if delay > 0:
            return delay
        return await self.reserve(chat)

    async def hold_off(self, chat: Chat | None, seconds: float) -> None:
        chat_pace = self._chat(chat)
        if chat_pace is not None:
            chat_pace.hold_off(seconds)

    async def answered(self, chat: Chat | None) -> None:
        chat_pace = self._chat(chat)
        if chat_pace is not None:
            chat_pace.hold_off(chat_pace.interval)

    def _chat(self, chat: Chat | None) -> Pace | None:
        if chat is None:
            return None
        if chat not in self._chats:
            if len(self._chats) > 100_000:  # forget idle chats now and then
                self._chats.clear()
            self._chats[chat] = Pace(self.chat_rate, self.chat_burst, self.clock)
        return self._chats[chat]


# Both paces in one step, on Redis's clock. KEYS: the global pace's TAT, then the chat's (optional).
# ARGV: mode (reserve | free | hold), now in ms or "", hold ms, then interval and tolerance (ms) per key.
# TATs are ms since the epoch; a key expires once its TAT has passed (a missing TAT means "free now").
_GCRA = lua_now(2) + """
local mode, hold = ARGV[1], tonumber(ARGV[3])
local tats, delay = {}, 0
for i, key in ipairs(KEYS) do
  local tat = math.max(tonumber(redis.call('GET', key)) or now, now)
  tats[i] = tat
  delay = math.max(delay, tat - tonumber(ARGV[3 + 2 * i]) - now)
end
if mode == 'free' and delay > 0 then
  return math.ceil(delay)
end
for i, key in ipairs(KEYS) do
  local tat
  if mode == 'hold' then tat = math.max(tats[i], now + hold) else tat = tats[i] + tonumber(ARGV[2 + 2 * i]) end
  redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1)
end
if mode == 'hold' then return 0 end
return math.ceil(delay)
"""


class RedisPaces:
    """The same paces in Redis, shared by every replica using `prefix`. Times come from the Redis server unless
    `clock` (seconds) is given."""

    def __init__(self, redis: Any, global_rate: float, chat_rate: float, chat_burst: int, *,
                 prefix: str = "kiebot:telegram:pace:", clock: Callable[[], float] | None = None) -> None:
        self.prefix = prefix
        self.clock = clock
        self._global = _timing(global_rate, int(global_rate))
        self._chat = _timing(chat_rate, chat_burst)
        self._script = redis.register_script(_GCRA)
        self._local = MemoryPaces(global_rate, chat_rate, chat_burst, clock or time.monotonic)
        self._redis_down = False

    async def reserve(self, chat: Chat | None) -> float:
        try:
            return self._up(await self._run("reserve", chat))
        except RedisError as exc:
            return await self._down(exc).reserve(chat)

    async def take_if_free(self, chat: Chat | None) -> float:
        try:
            return self._up(await self._run("free", chat))
        except RedisError as exc:
            return await self._down(exc).take_if_free(chat)

    async def hold_off(self, chat: Chat | None, seconds: float) -> None:
        await self._local.hold_off(chat, seconds)
        if chat is not None:
            try:
                await self._run("hold", chat, hold=seconds, only_chat=True)
            except RedisError as exc:
                self._down(exc)

    async def answered(self, chat: Chat | None) -> None:
        await self.hold_off(chat, self._chat[0] / 1000)

    def _up(self, delay: float) -> float:
        if self._redis_down:
            log.warning("Telegram pace: Redis is back; shared again")
            self._redis_down = False
        return delay

    def _down(self, exc: RedisError) -> MemoryPaces:
        """This process's paces while Redis cannot be reached (said once per outage)."""
        if not self._redis_down:
            log.warning("Telegram pace: Redis unreachable (%s); pacing in this process", type(exc).__name__)
        self._redis_down = True
        return self._local

    async def _run(self, mode: str, chat: Chat | None, *, hold: float = 0.0, only_chat: bool = False) -> float:
        keys, timings = [], []
        if not only_chat:
            keys.append(self.prefix + "global")
            timings += self._global
        if chat is not None:
            keys.append(f"{self.prefix}chat:{chat}")
            timings += self._chat
        now = "" if self.clock is None else self.clock() * 1000
        delay_ms = await self._script(keys=keys, args=[mode, now, hold * 1000, *timings])
        return int(delay_ms) / 1000


def _timing(rate: float, burst: int) -> list[float]:
    """(interval, tolerance) in ms, as in `Pace`."""
    interval = 1000.0 / rate
    return [interval, (burst - 1) * interval]
