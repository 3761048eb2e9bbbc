"""The follow-up rules that are settings, apart from the rules' code (store.threading): the
settings are read before the database layer is loaded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FollowUpSettings(BaseModel):
    """The follow-up rules that are settings; docs/threading-and-hygiene.md explains each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trust_tag_from_participants_only: bool = Field(
        default=True,
        description=(
            "A subject ticket tag counts only from the requester or a previous participant; "
            "anyone else opens a new ticket linked to the named one."
        ),
    )
    same_subject_window_h: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Thread by same sender and normalised subject within this many hours; null: off."
        ),
    )
    reopen_within_days: float = Field(
        default=30.0,
        ge=0,
        description=(
            "A follow-up on a closed ticket reopens it within this many days of its last "
            "update; later, it opens a new ticket linked to the closed one."
        ),
    )
    closed_statuses: list[str] = Field(
        default_factory=lambda: ["closed"], description="Ticket statuses that count as closed."
    )
