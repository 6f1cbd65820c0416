"""Lua for scripts that count time on Redis's own clock (replicas' clocks may differ)."""
from __future__ import annotations


def lua_now(arg: int) -> str:
    """Lua setting `now` (ms since the epoch) to ARGV[`arg`] when a test gives one, else to Redis's TIME."""
    return f"""
local now = tonumber(ARGV[{arg}])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end"""
