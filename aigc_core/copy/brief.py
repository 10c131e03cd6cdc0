"""The brief: what the marketer asks for, validated into one typed object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from aigc_core.errors import UserInputError

Channel = Literal[
    "search_headline",
    "search_description",
    "social_post",
    "email_subject",
    "product_description",
    "slogan",
    "sms_push",
    "support_reply",
]
Language = Literal["en", "zh"]

CHANNELS: dict[str, str] = {
    "search_headline": "Search ad headline",
    "search_description": "Search ad description",
    "social_post": "Social post",
    "email_subject": "Email subject line",
    "product_description": "Product description",
    "slogan": "Slogan",
    "sms_push": "SMS / push notification",
    "support_reply": "Customer-service reply",
}
LANGUAGES: dict[str, str] = {"en": "English", "zh": "Chinese (中文)"}
TONES: dict[str, dict[str, str]] = {
    "friendly": {"en": "friendly and warm", "zh": "亲切温暖"},
    "professional": {"en": "professional and trustworthy", "zh": "专业可信"},
    "playful": {"en": "playful and witty", "zh": "俏皮有趣"},
    "luxury": {"en": "elegant and premium", "zh": "高端优雅"},
    "urgent": {"en": "urgent, with a clear call to action", "zh": "紧迫，带有明确的行动号召"},
    "informative": {"en": "clear and informative", "zh": "清晰、信息丰富"},
    "bold": {"en": "bold and confident", "zh": "大胆自信"},
}
MAX_VARIANTS = 12
MAX_BRIEF_CHARS = 20_000


class Brief(BaseModel):
    """One ad copy request. Sampling fields left as None follow ``creativity``."""

    product: str = Field("", max_length=300, description="Product or brand name.")
    key_points: str = Field("", max_length=MAX_BRIEF_CHARS, description="Features and benefits, one per line.")
    audience: str = Field("", max_length=500, description="Who the copy is for.")
    channel: Channel = "social_post"
    tone: str = Field("friendly", description="A tone preset (see TONES) or empty.")
    tone_text: str = Field("", max_length=300, description="Free-text tone, added to the preset.")
    language: Language = "en"
    n_variants: int = Field(4, ge=1, le=MAX_VARIANTS)
    creativity: float = Field(0.6, ge=0.0, le=1.0, description="0 = safe and focused, 1 = adventurous.")
    temperature: float | None = Field(None, gt=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0, le=1000)
    repetition_penalty: float | None = Field(None, ge=1.0, le=2.0)
    max_new_tokens: int | None = Field(None, ge=8, le=1024)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    model: str = Field(
        "", description="Empty = the AIGC_TEXT_GENERATION_MODEL setting; or a hub id, folder, registry:<id>."
    )
    brand_kit: str = Field("", description="Name of the brand kit to check against (empty = none).")
    max_length: int | None = Field(None, ge=1, le=5000, description="Stricter limit than the channel's, in its unit.")

    @field_validator("product", "key_points", "audience", "tone_text", "model", "brand_kit", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        return value.strip() if isinstance(value, str) else value

    @field_validator("tone")
    @classmethod
    def _check_tone(cls, value: str) -> str:
        value = (value or "").strip().lower()
        if value and value not in TONES:
            raise ValueError(f"unknown tone preset {value!r}; use one of {', '.join(TONES)} or free text")
        return value

    # Derived ----------------------------------------------------------------------------------
    def points(self) -> list[str]:
        """Key points, one per non-empty line (bullets removed)."""
        out = []
        for line in self.key_points.splitlines():
            line = line.strip().lstrip("-*•·").strip()
            if line:
                out.append(line)
        return out

    def tone_description(self) -> str:
        """The tone in the brief's language: preset plus free text."""
        parts = [TONES[self.tone][self.language]] if self.tone else []
        if self.tone_text:
            parts.append(self.tone_text)
        return ("；" if self.language == "zh" else "; ").join(parts)

    def sampling(self) -> dict[str, Any]:
        """Sampling parameters: creativity mapped to temperature/top-p, overridden by the advanced fields."""
        c = self.creativity
        params: dict[str, Any] = {
            "temperature": round(0.3 + 0.9 * c, 3),
            "top_p": round(0.8 + 0.18 * c, 3),
            "top_k": 50,
            "repetition_penalty": 1.1,
            "max_new_tokens": self.max_new_tokens or 0,
        }
        for name in ("temperature", "top_p", "top_k", "repetition_penalty"):
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        return params

    def as_text(self) -> str:
        """The brief as plain text (history search, training-example prompt)."""
        lines = [f"Product: {self.product}"]
        if self.points():
            lines.append("Key points: " + "; ".join(self.points()))
        if self.audience:
            lines.append(f"Audience: {self.audience}")
        lines.append(f"Channel: {CHANNELS[self.channel]}")
        if self.tone_description():
            lines.append(f"Tone: {self.tone_description()}")
        lines.append(f"Language: {LANGUAGES[self.language]}")
        return "\n".join(lines)


def validate_brief(data: Brief | dict[str, Any]) -> Brief:
    """A checked Brief; an empty or invalid brief raises UserInputError naming the field."""
    if isinstance(data, Brief):
        brief = data
    else:
        clean = {
            k: (None if v == "" and k in _NULLABLE else v) for k, v in dict(data).items() if k in Brief.model_fields
        }
        try:
            brief = Brief(**clean)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err.get("loc", ())) or "brief"
            raise UserInputError(
                f"The brief's field '{field}' is not valid: {err.get('msg', 'invalid value')}.",
                hint="Correct that field and try again.",
            ) from exc
    if not brief.product and not brief.points():
        raise UserInputError(
            "The brief is empty.", hint="Give at least the product or brand name, or a few key points."
        )
    return brief


_NULLABLE = {"temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens", "seed", "max_length"}
