"""The parameter wizard as a pure state machine over a model's form fields.

The bot renders whatever `Draft.step()` says and feeds answers back; the draft is a plain
JSON-able dict in the FSM storage, so a half-filled form survives restarts and is shared by replicas.

A step is addressed by a *path*: `("prompt",)` for a top-level field, or `("dialogue", "text")` for a
field of the object currently being built for an array-of-objects field ("add another" sub-form).
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from kiebot.catalog import FieldKind, FieldSpec, ModelSpec, pricing

# Telegram splits a long text into messages of at most 4096 characters; a part this long is
# probably followed by another one, so it is kept until a shorter part or "Done" ends the text.
LONG_PART = 4000
COLLECTION_KINDS = (FieldKind.FILES, FieldKind.TEXTS)


@dataclass
class Draft:
    model_id: str
    values: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)  # FileRef dicts, see services.media
    queue: list[str] = field(default_factory=list)  # top-level fields still to ask
    answered: list[str] = field(default_factory=list)  # asked fields, in order, for Back
    current: str | None = None  # top-level field being asked; None = confirmation screen
    sub: str | None = None  # field of the object being built (OBJECTS)
    item: dict[str, Any] | None = None  # the object being built
    item_queue: list[str] = field(default_factory=list)
    pending: list[Any] = field(default_factory=list)  # items of a FILES/TEXTS field being collected
    partial_text: str = ""  # a long text arriving in several messages
    editing: bool = False  # came from the confirmation screen: go back there after the answer
    parents: dict[str, int] = field(default_factory=dict)  # TASK field → the user's job whose id it holds
    confirm_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    token: int = 0  # bumped on every change, so buttons of an older screen are recognised as stale
    # Variants (services/batches.py): `copies` runs of the same values, or one run per value of `vary`.
    copies: int = 1
    vary: str | None = None
    vary_values: list[Any] = field(default_factory=list)

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        """Keys a newer or older version of the bot wrote and this one does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def start(cls, model: ModelSpec) -> Draft:
        draft = cls(model_id=model.id, queue=[f.name for f in model.fields])
        draft._advance(model)
        return draft

    @classmethod
    def prefilled(cls, model: ModelSpec, values: dict[str, Any], files: list[dict[str, Any]]) -> Draft:
        """A draft at the confirmation screen, e.g. to repeat a past generation."""
        known = {f.name for f in model.fields}
        return cls(
            model_id=model.id,
            values={k: v for k, v in values.items() if k in known},
            files=[f for f in files if f.get("field", "").split(".")[0] in known],
            answered=[f.name for f in model.fields if f.name in values],
        )

    @classmethod
    def continued(cls, model: ModelSpec, values: dict[str, Any], files: list[dict[str, Any]],
                  parents: dict[str, int]) -> Draft:
        """A new form with some fields already filled (from an earlier result): they count as answered (Back reaches
        them, the confirmation can change them); the others are asked as usual."""
        draft = cls(model_id=model.id, values=dict(values), files=list(files), parents=dict(parents),
                    queue=[f.name for f in model.fields if f.name not in values],
                    answered=[f.name for f in model.fields if f.name in values])
        draft._advance(model)
        return draft

    # --- where we are --------------------------------------------------------------------------
    @property
    def at_confirmation(self) -> bool:
        return self.current is None

    def path(self) -> tuple[str, ...]:
        if self.current is None:
            return ()
        return (self.current, self.sub) if self.sub else (self.current,)

    def spec(self, model: ModelSpec) -> FieldSpec | None:
        if self.current is None:
            return None
        top = model.field(self.current)
        if self.sub is None:
            return top
        return next(f for f in top.item_fields if f.name == self.sub)

    def progress(self, model: ModelSpec) -> tuple[int, int]:
        """(step number, total steps) for the header."""
        total = len(model.fields)
        if self.editing and self.current is not None:  # one field asked again: its own place in the form
            return [f.name for f in model.fields].index(self.current) + 1, total
        done = len([name for name in self.answered if name != self.current])
        return min(done + 1, total), total

    def current_value(self, model: ModelSpec) -> Any:
        spec = self.spec(model)
        if spec is None:
            return None
        holder = self.item if self.sub else self.values
        return (holder or {}).get(spec.name)

    def choices(self, model: ModelSpec) -> tuple[Any, ...]:
        """The values the current step offers as buttons: a choice's options that keep the form priced (only
        top-level fields enter the price), or a number's presets."""
        spec = self.spec(model)
        if spec is None:
            return ()
        if spec.kind != FieldKind.CHOICE:
            return tuple(spec.presets)
        return tuple(spec.options) if self.sub else tuple(pricing.offered_options(model, spec, self.values))

    # --- variants --------------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return len(self.vary_values) if self.vary else self.copies

    def set_copies(self, count: int) -> None:
        self.copies, self.vary, self.vary_values = count, None, []
        self.token += 1

    def vary_field(self, name: str | None) -> None:
        """Vary `name` (its values are ticked next), or stop varying (None)."""
        self.copies, self.vary, self.vary_values = 1, name, []
        self.token += 1

    def tick_variant(self, value: Any, most: int) -> bool:
        """Tick or untick one value of the varied field; False (nothing changes) past `most` values."""
        if value in self.vary_values:
            self.vary_values.remove(value)
        elif len(self.vary_values) >= most:
            return False
        else:
            self.vary_values.append(value)
        self.token += 1
        return True

    # --- answers -------------------------------------------------------------------------------
    def pick(self, model: ModelSpec, index: int) -> bool:
        """Answer with the `index`-th of `choices`. False (nothing changes) for an index the step does not offer."""
        options = self.choices(model)
        if not 0 <= index < len(options):
            return False
        self.answer(model, options[index])
        return True

    def choose_parent(self, model: ModelSpec, job_id: int, values: dict[str, Any]) -> bool:
        """Answer the current TASK step with the user's earlier generation `job_id`: `values` fills every TASK field
        it names (a task id and an output id come from the same job). False (nothing changes) when the step is not
        a TASK field or `values` misses it."""
        spec = self.spec(model)
        if spec is None or spec.kind != FieldKind.TASK or spec.name not in values or self.sub:
            return False
        for name, value in values.items():
            self.values[name], self.parents[name] = value, job_id
            if name != spec.name and name in self.queue:
                self.queue.remove(name)
                self.answered.append(name)
        self.answer(model, values[spec.name])
        return True

    def answer_yes_no(self, model: ModelSpec, yes: bool) -> bool:
        """Answer a yes/no step. False (nothing changes) when the step is not one."""
        spec = self.spec(model)
        if spec is None or spec.kind != FieldKind.BOOL:
            return False
        self.answer(model, yes)
        return True

    def answer(self, model: ModelSpec, value: Any) -> None:
        """Store the answer of the current step and move on."""
        spec = self.spec(model)
        assert spec is not None, "no step to answer"
        self.partial_text = ""
        if self.sub:
            assert self.item is not None
            self.item[spec.name] = value
            self._next_item_field(model)
        else:
            self.values[spec.name] = value
            self._finish_field(model)
        self._prune_files()
        self.token += 1

    def attach_file(self, model: ModelSpec, ref: dict[str, Any]) -> None:
        """Answer the current FILE step, or add an item to the current FILES step, with an ingested file
        (`services.media.take_file`). The field's earlier files are forgotten once the answer replaces them."""
        spec = self.spec(model)
        assert spec is not None and spec.kind in (FieldKind.FILE, FieldKind.FILES)
        self.files.append(ref)
        if spec.kind == FieldKind.FILE:
            self.answer(model, ref["url"])
        else:
            self.add_item(model, ref["url"])

    def add_item(self, model: ModelSpec, value: Any) -> bool:
        """Collect one item of a FILES/TEXTS field. Returns True when the field is full and was stored."""
        spec = self.spec(model)
        assert spec is not None and spec.kind in COLLECTION_KINDS
        self.pending.append(value)
        self._prune_files()
        self.token += 1
        if spec.max_items is not None and len(self.pending) >= spec.max_items:
            self.finish_collection(model)
            return True
        return False

    def can_finish_collection(self, model: ModelSpec) -> bool:
        spec = self.spec(model)
        return spec is not None and len(self.pending) >= (spec.min_items or 1)

    def finish_collection(self, model: ModelSpec) -> None:
        items, self.pending = self.pending, []
        self.answer(model, items)

    def keep_default(self, model: ModelSpec) -> None:
        """Keep the shown default (or leave an optional field without a default unset)."""
        spec = self.spec(model)
        assert spec is not None and not (spec.required and not spec.has_default)
        holder = self.item if self.sub else self.values
        assert holder is not None
        holder.pop(spec.name, None)
        self._forget_files(spec.name)
        if spec.has_default and spec.required:
            holder[spec.name] = spec.default
        self.pending, self.partial_text = [], ""
        if self.sub:
            self._next_item_field(model)
        else:
            self._finish_field(model)
        self._prune_files()
        self.token += 1

    def use_defaults_for_rest(self, model: ModelSpec) -> None:
        """Skip every remaining optional field (each keeps its default)."""
        required_left = [n for n in self.queue if model.field(n).required]
        self.queue = required_left
        self.current, self.sub, self.item, self.pending = None, None, None, []
        self._advance(model)
        self._prune_files()
        self.token += 1

    def append_text_part(self, text: str) -> bool:
        """Keep one part of a long text. Returns True when the text is complete."""
        self.partial_text += text
        self.token += 1
        return len(text) < LONG_PART

    # --- objects (array of objects) ------------------------------------------------------------
    def start_item(self, model: ModelSpec) -> None:
        top = model.field(self.current) if self.current else None
        assert top is not None and top.kind == FieldKind.OBJECTS
        self.item = {}
        self.item_queue = [f.name for f in top.item_fields]
        self.sub = self.item_queue.pop(0)
        self.token += 1

    def items_done(self, model: ModelSpec) -> None:
        """The user finished adding objects to the current OBJECTS field."""
        assert self.current is not None
        self.values.setdefault(self.current, [])
        self._finish_field(model)
        self._prune_files()
        self.token += 1

    def _next_item_field(self, model: ModelSpec) -> None:
        if self.item_queue:
            self.sub = self.item_queue.pop(0)
            return
        assert self.current is not None and self.item is not None
        self.values.setdefault(self.current, []).append(self.item)
        self.item, self.sub = None, None  # back on the OBJECTS field: "add another" or "done"

    # --- navigation ----------------------------------------------------------------------------
    def back(self, model: ModelSpec) -> bool:
        """Go to the previous step. Returns False when there is none (the caller leaves the wizard)."""
        self.token += 1
        self.pending, self.partial_text = [], ""
        if self.sub is not None:  # abandon the object being built
            self.item, self.sub, self.item_queue = None, None, []
            self._prune_files()
            return True
        self._prune_files()
        if self.editing:
            self.editing, self.current = False, None
            return True
        if not self.answered:
            return False
        if self.current is not None:
            self.queue.insert(0, self.current)
        self.current = self.answered.pop()
        return True

    def edit(self, model: ModelSpec, name: str) -> None:
        """Ask one field again from the confirmation screen."""
        model.field(name)  # raises KeyError on a foreign name
        self.current, self.sub, self.item, self.pending = name, None, None, []
        self.editing = True
        self.token += 1

    def clear_field(self, name: str) -> None:
        self.values.pop(name, None)
        self._forget_files(name)

    def _finish_field(self, model: ModelSpec) -> None:
        assert self.current is not None
        if self.editing:
            self.editing = False
            self.current = None
            return
        if self.current not in self.answered:
            self.answered.append(self.current)
        self.current = None
        self._advance(model)

    def _advance(self, model: ModelSpec) -> None:
        self.current = self.queue.pop(0) if self.queue else None

    def _forget_files(self, name: str) -> None:
        self.files = [f for f in self.files if f.get("field", "").split(".")[0] != name]

    def _prune_files(self) -> None:
        """Keep only the files an answer still points at: a re-answered file field (after Edit or Back) forgets its
        old files, so neither the price nor KIE sees them (the price follows the longest file of each field)."""
        used: set[str] = set()
        _collect_strings((self.values, self.item, self.pending), used)
        self.files = [f for f in self.files if f.get("url") in used]


def _collect_strings(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_strings(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_strings(item, into)
