import random

import pytest
from hl7_samples import adt, oru, render

from data_exchange.hl7.framing import FramingError, MllpDecoder, frame

M1, M2, M3 = render(adt("A01")), render(oru()), render(adt("A03"))
STREAM = frame(M1) + frame(M2) + frame(M3)


def _feed_all(decoder: MllpDecoder, chunks) -> list:
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def test_frame_wraps_a_payload_in_start_and_end_blocks():
    assert frame(b"MSH|x") == b"\x0bMSH|x\x1c\x0d"


def test_frame_refuses_a_payload_that_contains_a_block_character():
    with pytest.raises(ValueError):
        frame(b"MSH|\x1cx")


def test_every_single_split_point_of_a_three_message_stream_yields_the_three_messages():
    for i in range(len(STREAM) + 1):
        decoder = MllpDecoder()
        assert _feed_all(decoder, [STREAM[:i], STREAM[i:]]) == [M1, M2, M3], f"split at {i}"
        assert decoder.pending_bytes == 0


def test_a_stream_fed_one_byte_at_a_time_yields_the_three_messages():
    decoder = MllpDecoder()
    assert _feed_all(decoder, [STREAM[i:i + 1] for i in range(len(STREAM))]) == [M1, M2, M3]


def test_every_pair_of_split_points_around_the_end_blocks_yields_the_three_messages():
    ends = [i for i in range(len(STREAM)) if STREAM[i] in (0x0B, 0x1C, 0x0D)]
    for i in ends:
        for j in ends:
            if i <= j:
                chunks = [STREAM[:i], STREAM[i:j], STREAM[j:]]
                assert _feed_all(MllpDecoder(), chunks) == [M1, M2, M3], (i, j)


def test_several_frames_in_one_read_come_out_in_order():
    assert MllpDecoder().feed(STREAM) == [M1, M2, M3]


def test_garbage_between_frames_is_reported_once_per_gap_and_the_frames_survive():
    stream = b"junk" + frame(M1) + b"more junk\x00\xff" * 50 + frame(M2) + frame(M3) + b"tail"
    out = MllpDecoder().feed(stream)
    gap = FramingError("data outside an MLLP frame")
    assert out == [gap, M1, gap, M2, M3, gap]


def test_garbage_split_over_many_reads_is_reported_only_once():
    decoder = MllpDecoder()
    out = _feed_all(decoder, [b"ab", b"cd", b"ef", frame(M1)])
    assert out == [FramingError("data outside an MLLP frame"), M1]


def test_line_breaks_between_frames_are_ignored_silently():
    stream = frame(M1) + b"\r\n" + frame(M2) + b"\n"
    assert MllpDecoder().feed(stream) == [M1, M2]


def test_an_oversized_frame_is_reported_and_the_next_frame_is_delivered():
    decoder = MllpDecoder(max_message_bytes=len(M1))
    big = frame(M1 + b"X" * 10)
    out = decoder.feed(big + frame(M1))
    assert out == [FramingError(f"message exceeds {len(M1)} bytes"), M1]


def test_an_oversized_frame_arriving_in_chunks_is_not_buffered_beyond_the_limit():
    limit = len(M2) + 10
    decoder = MllpDecoder(max_message_bytes=limit)
    out = decoder.feed(b"\x0b")
    peak = 0
    for _ in range(100):
        out += decoder.feed(b"A" * 333)
        peak = max(peak, decoder.pending_bytes)
    out += decoder.feed(b"\x1c\x0d" + frame(M2))
    assert peak <= limit + 1
    assert out == [FramingError(f"message exceeds {limit} bytes"), M2]
    assert decoder.pending_bytes == 0


def test_a_message_of_exactly_the_limit_is_accepted():
    decoder = MllpDecoder(max_message_bytes=len(M2))
    assert _feed_all(decoder, [frame(M2)[:-1], b"\x0d"]) == [M2]


def test_a_start_block_inside_a_frame_reports_the_cut_frame_and_starts_a_new_one():
    stream = b"\x0b" + M1[:50] + frame(M2)
    assert MllpDecoder().feed(stream) == [FramingError("frame interrupted by a new start block"), M2]


def test_an_empty_frame_is_reported_not_delivered():
    assert MllpDecoder().feed(b"\x0b\x1c\x0d") == [FramingError("empty MLLP frame")]


def test_a_lone_file_separator_inside_a_frame_stays_in_the_payload():
    assert MllpDecoder().feed(b"\x0bMSH|\x1cA\x1c\x0d") == [b"MSH|\x1cA"]


def test_pending_bytes_counts_the_partial_frame_and_resets_after_it_completes():
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0b" + M1[:100]) == []
    assert decoder.pending_bytes == 100 and decoder.in_frame
    assert decoder.feed(M1[100:] + b"\x1c") == []
    assert decoder.feed(b"\x0d") == [M1]
    assert decoder.pending_bytes == 0 and not decoder.in_frame


def test_the_decoder_rejects_a_non_positive_limit():
    with pytest.raises(ValueError):
        MllpDecoder(max_message_bytes=0)


def test_random_garbage_and_random_chunking_never_lose_or_corrupt_a_frame():
    rng = random.Random(11)
    for _ in range(200):
        payloads = [rng.choice([M1, M2, M3])[: rng.randint(1, 400)] for _ in range(rng.randint(1, 6))]
        stream = b""
        for p in payloads:
            stream += bytes(rng.choice(b"abc\r\n\x00\xff") for _ in range(rng.randint(0, 5)))
            stream += frame(p)
        cuts = sorted(rng.sample(range(len(stream) + 1), k=min(10, len(stream))))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        out = _feed_all(MllpDecoder(), chunks)
        assert [x for x in out if isinstance(x, bytes)] == payloads
        assert all(x == FramingError("data outside an MLLP frame")
                   for x in out if isinstance(x, FramingError))
