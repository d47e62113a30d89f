import pytest

from data_exchange.hl7.escape import DEFAULT_ENCODING, EncodingCharacters, escape, unescape


@pytest.mark.parametrize("raw, text", [
    (r"A\F\B", "A|B"),
    (r"A\S\B", "A^B"),
    (r"A\T\B", "A&B"),
    (r"A\R\B", "A~B"),
    (r"C:\E\temp", "C:\\temp"),
    (r"line1\.br\line2", "line1\nline2"),
    (r"para\.sp\next", "para\nnext"),
    (r"\H\重要\N\结果", "重要结果"),
    ("\\X41\\\\X4243\\", "ABC"),
])
def test_escape_sequences_decode_to_their_characters(raw, text):
    assert unescape(raw) == text


def test_hex_escapes_decode_in_the_message_charset():
    assert unescape("\\XD5C5\\", charset="gb18030") == "张"
    assert unescape("\\XE5BCA0\\", charset="utf-8") == "张"


@pytest.mark.parametrize("raw", [
    r"unterminated \F",
    "tail\\\\",
    r"\Zlocal\ kept",
    r"\Cxxyy\ charset switch",
    r"bad hex \XZZ\ and odd \X123\ and empty \X\ ",
    r"\XFF\ not utf-8",
])
def test_unknown_unterminated_or_undecodable_escapes_are_kept_as_sent(raw):
    assert unescape(raw) == raw


def test_text_without_the_escape_character_is_returned_unchanged():
    text = "普通文本|with^delims"
    assert unescape(text) is text


def test_escape_then_unescape_gives_back_the_text():
    for text in ["a|b^c~d&e\\f", "张三丰 \\.br\\ literal", "\\F\\", "", "x\\"]:
        assert unescape(escape(text)) == text


def test_escaped_text_never_contains_raw_delimiters_or_framing_bytes():
    hostile = "x|y^z~w&v\\u\r\nMSH|^~\\&|\x0b\x1c\x0d\x00'; DROP TABLE t;--<script>"
    out = escape(hostile)
    stripped = out.replace("\\", "")
    for ch in "|^~&\r\n\x0b\x1c\x00":
        assert ch not in stripped
    assert "\\X0B\\" in out and "\\X1C\\" in out and "\\.br\\" in out


def test_custom_encoding_characters_are_honoured_both_ways():
    enc = EncodingCharacters(field="#", component="$", repetition="*", escape="!",
                             subcomponent="@", truncation="%")
    assert enc.msh2 == "$*!@%"
    assert escape("a#b$c%d!e", enc) == "a!F!b!S!c!P!d!E!e"
    assert unescape("a!F!b!S!c!P!d!E!e", enc) == "a#b$c%d!e"


def test_the_default_encoding_characters_are_the_usual_ones():
    assert DEFAULT_ENCODING.field + DEFAULT_ENCODING.msh2 == "|^~\\&"
