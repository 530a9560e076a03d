"""A round: the records of one fetch, by partition, and which of them are done (stored or
dead-lettered). A partition's offset may be committed up to its first record not done:
records of one partition are stored concurrently, so they finish in any order, and a
commit past an unfinished record could lose it if the process died then.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

Partition = tuple[str, int]


class HasOffset(Protocol):
    @property
    def offset(self) -> int: ...


R = TypeVar("R", bound=HasOffset)


@dataclass
class Round(Generic[R]):
    records: dict[Partition, list[R]]
    _done: dict[Partition, list[bool]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._done = {tp: [False] * len(records) for tp, records in self.records.items()}

    def __len__(self) -> int:
        return sum(len(records) for records in self.records.values())

    def items(self) -> Iterator[tuple[Partition, int, R]]:
        for tp, records in self.records.items():
            for index, record in enumerate(records):
                yield tp, index, record

    def mark_done(self, tp: Partition, index: int) -> None:
        self._done[tp][index] = True

    def committable(self) -> dict[Partition, int]:
        """The next offset to read, per partition, for the records done so far in order
        (Kafka's committed offset is the first record not yet processed)."""
        offsets = {}
        for tp, records in self.records.items():
            done = self._done[tp]
            first_open = done.index(False) if False in done else len(done)
            if first_open:
                offsets[tp] = records[first_open - 1].offset + 1
        return offsets
