"""The brand voice guide (Markdown) and the knowledge file (TOML), both documented in ``config/``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from responders.rules import RulesFileError, describe_validation_error, read_toml


class KnowledgeFileError(RulesFileError):
    """A knowledge file that cannot be used; the message names the file and the entry."""


def _http(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Policy(_Entry):
    topic: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Link(_Entry):
    title: str = Field(min_length=1)
    url: str
    use_for: str = ""

    _url = field_validator("url")(_http)


class Outage(_Entry):
    area: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    since: str = ""
    link: str = ""

    @field_validator("link")
    @classmethod
    def _link(cls, value: str) -> str:
        return _http(value) if value else value


class Knowledge(_Entry):
    policies: list[Policy] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    outages: list[Outage] = Field(default_factory=list)

    @property
    def allowed_links(self) -> set[str]:
        """Every link a draft may contain."""
        return {link.url for link in self.links} | {outage.link for outage in self.outages if outage.link}

    @classmethod
    def load(cls, path: Path) -> Knowledge:
        """Read and validate ``path``; :class:`KnowledgeFileError` names what is wrong."""
        try:
            data = read_toml(path)
        except RulesFileError as error:
            raise KnowledgeFileError(str(error).replace("rules file", "knowledge file")) from None
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise KnowledgeFileError(describe_validation_error(path, data, error)) from None


def load_voice(path: Path) -> str:
    """The voice guide's text; an empty guide when the file is missing is a mistake worth one clear line."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise KnowledgeFileError(f"{path}: no such voice guide ([drafts] voice_file)") from None
