"""Docker's multiplexed stream frames."""

from minidocker.api.streams import (
    MAX_FRAME,
    MULTIPLEXED_STREAM,
    RAW_STREAM,
    Demuxer,
    frame,
    frames,
    stream_type,
)


def test_frame_header() -> None:
    assert frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert frame(2, b"") == b"\x02\x00\x00\x00\x00\x00\x00\x00"


def test_demux_in_pieces() -> None:
    data = frame(1, b"out") + frame(2, b"err" * 1000) + frames(1, b"z" * (MAX_FRAME + 5))
    demux = Demuxer()
    got = []
    for i in range(0, len(data), 7):
        got += demux.feed(data[i:i + 7])
    assert [s for s, _ in got] == [1, 2, 1, 1]
    assert b"".join(d for s, d in got if s == 1) == b"out" + b"z" * (MAX_FRAME + 5)


def test_content_types() -> None:
    assert stream_type("1.41", tty=False) == RAW_STREAM
    assert stream_type("1.42", tty=False) == MULTIPLEXED_STREAM
    assert stream_type("1.42", tty=True) == RAW_STREAM
