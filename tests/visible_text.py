"""What a person sees or hears of a page: its text outside scripts and styles, and the
attributes a screen reader or a pointer reads out (title, alt, placeholder, aria-label, the
value of a button). Used by the catalogue test (no English in Chinese pages) and the staff-names
test (no login where a person is meant)."""

from html.parser import HTMLParser

SPOKEN_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
BUTTON_TYPES = {"submit", "button", "reset"}


VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


class _Reader(HTMLParser):
    """``machine_values=False`` leaves out what the page marks translate="no" (a dedupe key, a
    template's placeholders): for the check that a Chinese page has no English."""

    def __init__(self, *, machine_values: bool = True):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0
        self._machine_values = machine_values
        self._untranslatable_depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag not in VOID_ELEMENTS and (
            self._untranslatable_depth
            or (not self._machine_values and attributes.get("translate") == "no")
        ):
            self._untranslatable_depth += 1
        if tag in ("script", "style", "template"):
            self._hidden_depth += 1
        for name in SPOKEN_ATTRIBUTES:
            if attributes.get(name):
                self.parts.append(attributes[name])
        if tag == "input" and attributes.get("type") in BUTTON_TYPES and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden_depth:
            self._hidden_depth -= 1
        if self._untranslatable_depth and tag not in VOID_ELEMENTS:
            self._untranslatable_depth -= 1

    def handle_data(self, data):
        if not self._hidden_depth and not self._untranslatable_depth and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, *, machine_values: bool = True) -> str:
    reader = _Reader(machine_values=machine_values)
    reader.feed(html)
    return "\n".join(reader.parts)


def pages_text(client, urls, *, machine_values: bool = True) -> dict[str, str]:
    """The visible text of each page at ``urls`` (each must answer 200)."""
    texts = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        texts[url] = visible_text(response.content.decode(), machine_values=machine_values)
    return texts
