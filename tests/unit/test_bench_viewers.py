"""The benchmark's lean SSE viewer reads each server's streams alike:
livecomments' and the reference's (chunked, numeric ids) and nchan's (to the
connection's end, ``<seconds>:<n>`` ids)."""

from __future__ import annotations

import asyncio

import pytest

from bench.viewers import SseViewer, ViewerTally, event_order

CHUNKED_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
NCHAN_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def comment(event_id: bytes, sent: float) -> bytes:
    return b'id: %s\ndata: {"comment":"t=%.6f p0-1"}\n\n' % (event_id, sent)


@pytest.fixture
def viewer():
    loop = asyncio.new_event_loop()
    viewer = SseViewer(b"", ViewerTally(), loop.create_future())
    yield viewer
    loop.close()


def test_event_ids_order_as_the_stream_does():
    assert event_order(b"41") == 41
    assert event_order(b"1795382277:0") < event_order(b"1795382277:1")
    assert event_order(b"1795382277:999") < event_order(b"1795382278:0")


def test_a_chunked_stream_split_anywhere_is_read_whole(viewer):
    body = chunk(b"retry: 2000\n\nevent: viewers\ndata: {}\n\n") + chunk(
        comment(b"1", 1.0) + comment(b"2", 1.0))
    stream = CHUNKED_HEAD + body
    for at in range(0, len(stream), 7):
        viewer.data_received(stream[at:at + 7])
    assert viewer.announced.done()
    assert (viewer.tally.received, viewer.tally.duplicates, viewer.tally.out_of_order) == (2, 0, 0)


def test_an_nchan_stream_is_read_to_the_end_with_its_ids(viewer):
    viewer.data_received(NCHAN_HEAD + b": hi\n\n")
    assert viewer.announced.done()
    viewer.data_received(comment(b"1795382277:0", 1.0) + comment(b"1795382277:1", 1.0)[:20])
    viewer.data_received(comment(b"1795382277:1", 1.0)[20:] + comment(b"1795382277:1", 1.0))
    viewer.data_received(comment(b"1795382276:5", 1.0))
    tally = viewer.tally
    assert (tally.received, tally.duplicates, tally.out_of_order) == (4, 1, 1)


def test_a_refused_stream_fails_its_viewer(viewer):
    viewer.data_received(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(ConnectionError):
        viewer.announced.result()


def test_a_late_event_is_out_of_order_once_and_a_repeat_is_a_duplicate(viewer):
    viewer.data_received(NCHAN_HEAD)
    for event_id in [*range(1, 101), 50, 150, 120, 120, 1, 151]:
        viewer.data_received(comment(b"%d" % event_id, 1.0))
    tally = viewer.tally
    assert (tally.received, tally.duplicates, tally.out_of_order) == (106, 3, 1)
