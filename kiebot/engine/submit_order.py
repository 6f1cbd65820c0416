"""The claimed waiting jobs of this worker head for createTask in their fair order.

A claim gives each waiting job its place: (slot, id), see `store.jobs._claimable_waiting`. The KIE limiter admits the
calls waiting in its line by that place (`kie.ratelimit.in_line`), but it can only order the calls that have reached
it: the jobs of one claim get there after a few database writes each, in whatever order those finish, and while KIE's
window has free places the first to come would take them. So a job enters KIE's line only once every job with a lower
place has entered it (or left: failed, cancelled, lost), waiting at most `PATIENCE` seconds for a slow one (an input
file being uploaded again, say) so that it cannot hold up the others for long.
"""
from __future__ import annotations

import asyncio

Place = tuple[int, int]
PATIENCE = 2.0  # seconds


class SubmitOrder:
    def __init__(self, patience: float = PATIENCE) -> None:
        self._expected: dict[int, Place] = {}  # job id → its place, until the job enters KIE's line or leaves
        self._changed = asyncio.Event()
        self._patience = patience

    def expect(self, job_id: int, slot: int) -> None:
        """A claimed waiting job (in the claim's order)."""
        self._expected[job_id] = (slot, job_id)

    def place(self, job_id: int) -> Place:
        """The job's place in KIE's line; a job not claimed from the line (started again after a crash) goes first."""
        return self._expected.get(job_id, (0, job_id))

    async def turn(self, job_id: int) -> None:
        """Return when no job with a lower place is still on its way (or after `patience`)."""
        place = self._expected.get(job_id)
        if place is None:
            return
        try:
            async with asyncio.timeout(self._patience):
                while min(self._expected.values()) < place:
                    await self._changed.wait()
        except TimeoutError:
            pass

    def leave(self, job_id: int) -> None:
        """The job entered KIE's line (call this right before the createTask call: the next job runs only once this
        one waits inside it), or will not submit now."""
        if self._expected.pop(job_id, None) is not None:
            self._changed.set()
            self._changed = asyncio.Event()
