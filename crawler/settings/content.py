"""The ``[content]`` section: each page's main content, Markdown and metadata, the files made
of them, and what a crawl with an engine fetches besides HTML (PDFs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any, Literal

from pydantic import Field, model_validator

from crawler.settings.section import Section, refuse

PDF = "application/pdf"

ContentEngine = Literal["off", "precise", "fast"]  # none, trafilatura's, parcrawl's own


class ContentSettings(Section):
    """Each page's main content, Markdown and metadata (``pip install 'parcrawl[content]'``)."""

    engine: ContentEngine = Field(
        "off",
        description="Main-content engine: 'precise' (trafilatura; --content alone), 'fast' "
        "or 'off'.",
    )
    time_limit_s: float = Field(
        10.0, gt=0, description="Most time the engine takes on a page; past it: content_timeout."
    )
    images: bool = Field(True, description="Keep the main content's images in the Markdown.")
    pdf: bool = Field(True, description="Fetch PDFs (up to fetch.max_bytes) and read their text.")
    markdown_dir: str | None = Field(
        None, description="Write each page's Markdown, with front matter, under this folder."
    )
    llms_txt: str | None = Field(
        None, description="Write llms.txt here at the crawl's end, llms-full.txt beside it."
    )
    site_title: str | None = Field(None, min_length=1, description="llms.txt's title.")
    site_description: str | None = Field(None, description="llms.txt's summary line.")

    @property
    def llms_full_txt(self) -> str | None:
        """Where llms-full.txt goes: beside llms.txt, ``-full`` added to its name."""
        if self.llms_txt is None:
            return None
        path = PurePath(self.llms_txt)
        return str(path.with_name(f"{path.stem}-full{path.suffix}"))

    @model_validator(mode="before")
    @classmethod
    def _engine_for_files(cls, data: Any) -> Any:
        # a Markdown folder or llms.txt asked for, no engine named: the precise one
        files = isinstance(data, dict) and any(data.get(k) for k in ("markdown_dir", "llms_txt"))
        return {**data, "engine": "precise"} if files and "engine" not in data else data

    @model_validator(mode="after")
    def _needs_engine(self) -> ContentSettings:
        for key in ("markdown_dir", "llms_txt"):
            if self.engine == "off" and getattr(self, key) is not None:
                refuse(key, "needs a content engine, not engine = 'off'")
        return self


def expand_content(
    data: Any, *, accept_types: Sequence[str], skip_extensions: Sequence[str]
) -> Any:
    """A ``Settings``' raw values with ``content`` spelt out, fetching PDFs when it reads them.

    ``content = "fast"`` (or ``True``: ``precise``; ``False``: ``off``) is short for
    ``content.engine``, in a job file as in ``crawl(url, content="fast")``.
    ``application/pdf`` joins ``fetch.accept_types`` (its body is read, up to ``max_bytes``),
    and links to ``.pdf`` files are followed unless ``scope.skip_extensions`` was set: the
    defaults (``accept_types``, ``skip_extensions``) skip them. Anything not a plain value
    is left for validation to refuse.
    """
    if not isinstance(data, dict):
        return data
    shorthand = data.get("content")
    if isinstance(shorthand, bool | str):
        engine = shorthand if isinstance(shorthand, str) else "precise" if shorthand else "off"
        data = {**data, "content": {"engine": engine}}
    if not _reads_pdfs(data.get("content")):
        return data

    def accepting(types: Any) -> Any:
        return [*types, PDF] if isinstance(types, list) and PDF not in types else types

    changed = dict(data)
    fetch = data.get("fetch")
    if isinstance(fetch, Section):
        changed["fetch"] = fetch.model_copy(
            update={"accept_types": accepting(getattr(fetch, "accept_types", None))}
        )
    elif fetch is None or isinstance(fetch, dict):
        given = (fetch or {}).get("accept_types", list(accept_types))
        changed["fetch"] = {**(fetch or {}), "accept_types": accepting(given)}
    scope = data.get("scope")
    following = [extension for extension in skip_extensions if extension != "pdf"]
    if scope is None or (isinstance(scope, dict) and "skip_extensions" not in scope):
        changed["scope"] = {**(scope or {}), "skip_extensions": following}
    elif isinstance(scope, Section) and "skip_extensions" not in scope.model_fields_set:
        changed["scope"] = scope.model_copy(update={"skip_extensions": following})
    return changed


def _reads_pdfs(content: Any) -> bool:
    if isinstance(content, ContentSettings):
        return content.engine != "off" and content.pdf
    if not isinstance(content, dict):
        return False
    files = any(content.get(key) for key in ("markdown_dir", "llms_txt"))
    engine = content.get("engine", "precise" if files else "off")
    return engine != "off" and content.get("pdf", True) is True
