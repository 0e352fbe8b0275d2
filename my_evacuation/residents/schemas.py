from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, field_validator, model_validator

from my_evacuation.push.providers.endpoints import endpoint_problem

# Languages of PRODUCT.md (15 + やさしい日本語 "ja-easy").
LANGUAGES = (
    "ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "es", "pt", "vi", "th", "id", "tl", "ne", "km", "my", "mn",
)  # fmt: skip


def _language_tag(value: object) -> object:
    # A tag naming one of them another way (zh-TW, pt-BR, fil, ja-x-easy, en-US) is stored
    # as the one it names; anything else is left for the Literal to refuse.
    from server.i18n import match_language

    return (match_language(value) or value) if isinstance(value, str) else value


Language = Annotated[
    Literal["ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "es", "pt", "vi", "th", "id", "tl", "ne", "km", "my", "mn"],
    BeforeValidator(_language_tag),
]


class WebPushKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p256dh: str = Field(min_length=16, max_length=200)
    auth: str = Field(min_length=8, max_length=100)


class WebPushSubscription(BaseModel):
    model_config = ConfigDict(extra="ignore")
    endpoint: HttpUrl
    keys: WebPushKeys

    @field_validator("endpoint")
    @classmethod
    def _public_https(cls, endpoint: HttpUrl) -> HttpUrl:
        # The worker POSTs to it: never to loopback, the private network or a metadata address.
        problem = endpoint_problem(str(endpoint))
        if problem:
            raise ValueError(problem)
        return endpoint


class DeviceRegistration(BaseModel):
    """Exactly one push address per device, matching its platform (none is allowed: pull only)."""

    model_config = ConfigDict(extra="forbid")
    platform: Literal["android", "ios", "web"]
    fcm_token: str | None = Field(default=None, min_length=8, max_length=4096)
    fcm_installation_id: str | None = Field(default=None, min_length=8, max_length=512)
    apns_token: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32,200}$")
    webpush_subscription: WebPushSubscription | None = None
    language: Language = "ja"
    app_version: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _one_address(self):
        given = [
            n
            for n in ("fcm_token", "fcm_installation_id", "apns_token", "webpush_subscription")
            if getattr(self, n) is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give one push address, not {len(given)}: {', '.join(given)}")
        if self.apns_token and self.platform != "ios":
            raise ValueError("apns_token is for platform ios")
        if self.webpush_subscription and self.platform != "web":
            raise ValueError("webpush_subscription is for platform web")
        return self

    def push_address(self) -> tuple[str | None, str | None]:
        if self.fcm_token:
            return "fcm_token", self.fcm_token
        if self.fcm_installation_id:
            return "fcm_fid", self.fcm_installation_id
        if self.apns_token:
            return "apns", self.apns_token.lower()
        if self.webpush_subscription:
            return "webpush", str(self.webpush_subscription.endpoint)
        return None, None


class DeviceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fcm_token: str | None = Field(default=None, min_length=8, max_length=4096)
    fcm_installation_id: str | None = Field(default=None, min_length=8, max_length=512)
    apns_token: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32,200}$")
    webpush_subscription: WebPushSubscription | None = None
    language: Language | None = None
    app_version: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _one_address(self):
        given = [n for n in ("fcm_token", "fcm_installation_id", "apns_token", "webpush_subscription")
                 if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"give one push address, not {len(given)}: {', '.join(given)}")
        return self


class DeviceOut(BaseModel):
    id: int
    platform: str
    push_kind: str | None
    language: str
    app_version: str | None


class DeviceRegistered(BaseModel):
    resident_id: int
    device_id: int
    token: str = Field(description="Bearer token; shown once, stored only as a hash")
    moved_from_device_id: int | None = Field(default=None, description="The push address was registered before and moved here")


class TokenRotated(BaseModel):
    token: str


class MeOut(BaseModel):
    resident_id: int
    language: str
    devices: list[DeviceOut]
    place_count: int
