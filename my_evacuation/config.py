"""my_evacuation's tunables, read from ``BOUSAI_MYEVAC_*`` (kept here so server/settings.py
stays the kit's; each default has its reason beside it)."""

from __future__ import annotations


from pydantic import Field
from pydantic_settings import SettingsConfigDict

from server.settings import Section, SectionGetter


class MyEvacuationSettings(Section):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_MYEVAC_", env_file=".env", extra="ignore"
    )

    # A household plus grandparents and cousins; web171 and LINE family groups sit around 20.
    max_group_members: int = 20
    # Own household, parents', in-laws', a child's flat… ten covers every real case.
    max_groups_per_resident: int = 10
    # Long enough to pass a code on at the weekend, short enough that an old one is dead.
    invite_ttl_hours: int = 72
    invite_max_ttl_hours: int = 24 * 30

    # --- safety checks: what starts one (the product's "strong event") ---------------
    check_min_intensity: str = "5-"  # 震度5弱 or more
    check_tsunami_grades: list[str] = Field(
        default_factory=lambda: ["warning", "major_warning"]
    )
    check_min_evacuation_level: int = 4  # 避難指示 or more
    check_civil_protection: bool = True  # J-ALERT
    # Reminders at growing intervals, minutes after the previous one; then we stop asking.
    reminder_minutes: list[int] = Field(default_factory=lambda: [10, 30, 120, 360])
    reminder_job_seconds: float = 30.0

    # --- knowledge ---------------------------------------------------------------
    # A tip a week keeps the habit without becoming noise (opt-in only).
    tip_interval_days: int = 7
    knowledge_job_seconds: float = 900.0
    # Plan-review reminder before the rainy season (出水期 starts in June): sent from this day of May.
    rainy_season_reminder_month: int = 5
    rainy_season_reminder_day: int = 20


get_config = SectionGetter(MyEvacuationSettings)
