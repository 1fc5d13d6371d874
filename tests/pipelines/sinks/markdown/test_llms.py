"""llms.txt and llms-full.txt in the llmstxt.org format."""

from __future__ import annotations

import re

from pipelines.sinks.markdown import PageSummary, llms_files

PAGES = [
    PageSummary("https://docs.example/", "Home", "Where to start.", "# Home\n\nWelcome."),
    PageSummary("https://docs.example/about", "About us", None, "We make tea."),
    PageSummary(
        "https://docs.example/guides/install",
        "Install [beta]",
        "How to\n  install it.",
        "# Install\n\nRun it.\n\n---\n\nThen:\n\n```\n---\n```",
    ),
    PageSummary("https://docs.example/guides/first-steps", None, "", ""),
    PageSummary("https://docs.example/api-reference/v1/(items)", "Items", "The items API.", "x"),
]


def test_llms_txt_has_the_title_the_summary_and_a_section_per_first_folder() -> None:
    index, _ = llms_files(PAGES, site_title="Docs Example", site_description="All about tea.")

    assert index == (
        "# Docs Example\n"
        "\n"
        "> All about tea.\n"
        "\n"
        "## Pages\n"
        "\n"
        "- [Home](https://docs.example/): Where to start.\n"
        "- [About us](https://docs.example/about)\n"
        "\n"
        "## Guides\n"
        "\n"
        "- [Install \\[beta\\]](https://docs.example/guides/install): How to install it.\n"
        "- [first-steps](https://docs.example/guides/first-steps)\n"
        "\n"
        "## Api reference\n"
        "\n"
        "- [Items](https://docs.example/api-reference/v1/%28items%29): The items API.\n"
    )


def test_every_link_line_parses_as_a_markdown_link() -> None:
    index, _ = llms_files(PAGES, site_title="Docs")
    link_line = re.compile(r"- \[(?:[^\]\\]|\\.)+\]\([^()\s]+\)(: .+)?")

    lines = [line for line in index.splitlines() if line.startswith("- ")]

    assert len(lines) == len(PAGES)
    assert all(link_line.fullmatch(line) for line in lines)


def test_llms_full_txt_holds_each_page_set_apart_with_its_source() -> None:
    _, full = llms_files(PAGES, site_title="Docs Example", site_description="All about tea.")

    blocks = full.split("\n\n---\n\n")
    assert blocks[0] == "# Docs Example\n\n> All about tea."
    assert len(blocks) == 1 + len(PAGES)
    assert blocks[1] == "# Home\n\nSource: https://docs.example/\n\n# Home\n\nWelcome."
    assert blocks[3].startswith(
        "# Install \\[beta\\]\n\nSource: https://docs.example/guides/install"
    )
    assert "Run it.\n\n***\n\nThen:" in blocks[3]  # the page's own rule, no page separator
    assert "```\n---\n```" in blocks[3]  # code is left as it is
    assert blocks[4] == "# first-steps\n\nSource: https://docs.example/guides/first-steps"


def test_pages_of_several_hosts_are_grouped_by_host_too() -> None:
    pages = [
        PageSummary("https://a.example/docs/x", "X"),
        PageSummary("https://b.example/docs/y", "Y"),
    ]

    index, _ = llms_files(pages, site_title="Two sites")

    assert "## a.example: Docs\n\n- [X](https://a.example/docs/x)" in index
    assert "## b.example: Docs\n\n- [Y](https://b.example/docs/y)" in index


def test_no_pages_is_the_head_alone() -> None:
    index, full = llms_files([], site_title="Empty")

    assert index == full == "# Empty\n"
