"""What a person sees or hears of a page: its text outside scripts and styles, and the
attributes a screen reader or a pointer reads out (title, alt, placeholder, aria-label, the
value of a button). Used by the catalogue test (no English in Chinese pages) and the staff-names
test (no login where a person is meant)."""

from html.parser import HTMLParser

SPOKEN_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
BUTTON_TYPES = {"submit", "button", "reset"}


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden_depth += 1
        attributes = dict(attrs)
        for name in SPOKEN_ATTRIBUTES:
            if attributes.get(name):
                self.parts.append(attributes[name])
        if tag == "input" and attributes.get("type") in BUTTON_TYPES and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data):
        if not self._hidden_depth and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    reader = _Reader()
    reader.feed(html)
    return "\n".join(reader.parts)


def pages_text(client, urls) -> dict[str, str]:
    """The visible text of each page at ``urls`` (each must answer 200)."""
    texts = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        texts[url] = visible_text(response.content.decode())
    return texts
