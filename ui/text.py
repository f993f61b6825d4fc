"""Text from data, shown where Streamlit renders markdown.

Streamlit reads markdown in st.markdown, captions, alerts, toasts, and in the labels of metrics,
expanders, tabs, buttons, radio options, sliders and status boxes. A file name, header or value
written as `![i](http://host/a.png)` would make every visitor's browser fetch that image, `[x](…)`
would be a link, `:red[…]` coloured and `$…$` typeset. `literal` is the one way such text reaches
those places: whatever it is given renders as exactly those characters. (Selectbox and multiselect
options, tables and st.code show text as it is, so they take the plain text, never `literal`'s.)
"""

import re

# CommonMark lets a backslash escape any ASCII punctuation, so an escaped character renders as
# itself. These are the ones that start something: emphasis and strikethrough (*, _, ~), code
# spans (`), links and images ([, ], (, ), !), raw HTML and entities (<, >, &), headings (#),
# tables (|), math ($), Streamlit's :color[…], :material/icon: and :emoji: shortcodes (:), and the
# backslash itself.
_SPECIAL = re.compile(r"([\\`*_~\[\]()!<>&#|$:{}])")
# Block markers count only where a line starts. Newlines are folded, but the text may still follow
# a template's "- " list marker, where "- x", "+ x", "1. x" would open a list of their own.
_LEADING_MARK = re.compile(r"^(?=[-+=])")
_LEADING_NUMBER = re.compile(r"^(\d+)\.")
# Some markdown is found in the text left once the escapes are resolved, so escaping cannot stop it:
# GFM links bare addresses (http://, https://, www., a@b.c); Streamlit turns :material_x: into an
# icon (after rewriting :material/ to :material_ in the source), :streamlit: into its logo, and
# " -> ", " <- ", " <-> ", " -- ", " >= ", " <= ", " ~= " into arrows, dashes and signs. An invisible
# WORD JOINER (not a space, to either parser) splits each pattern: after every colon that something
# follows, before the dot of www., after @, inside each of the operators.
_SPLIT = re.compile(r"(?i)(?<=:)(?=\S)|(?<=www)(?=\.)|(?<=@)")
_OPERATOR = re.compile(r"(?<!\S)(<->|->|<-|--|>=|<=|~=)(?!\S)")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
WORD_JOINER = "\u2060"


def literal(value: object) -> str:
    """Markdown that Streamlit renders as exactly `value`'s text (line breaks shown as spaces)."""
    text = _LINE_BREAKS.sub(" ", str(value)).strip()  # a blank line or an indent would start a block
    text = _OPERATOR.sub(lambda m: m[1][0] + WORD_JOINER + m[1][1:], _SPLIT.sub(WORD_JOINER, text))
    text = _SPECIAL.sub(r"\\\1", text)
    return _LEADING_NUMBER.sub(r"\1\\.", _LEADING_MARK.sub("\\\\", text))
