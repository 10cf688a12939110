"""The peer layer follows the validator set voted by the federation (FORMAT.md §6.8, "Following the set"):
an address learnt from the state is dialled without a restart, once; a key that is no longer allowed
loses its connection, and its reconnections are refused."""

from __future__ import annotations

from tests.test_p2p import Node, run, stop_all, until, url


def test_an_address_from_the_state_is_dialled_once_and_a_removed_key_is_dropped():
    async def main() -> None:
        a = await Node().start()
        b = await Node().start()  # b knows no peer URL at start
        try:
            assert b.manager.dial(url(a.manager.port)) is True  # the state names a's address
            assert b.manager.dial(url(a.manager.port)) is False  # the same address again: one dialer
            await until(lambda: a.peer_keys() == [b.pub] and b.peer_keys() == [a.pub], what="connection")
            assert b.manager.drop_disallowed() == 0
            a.allowed = {a.pub}  # b's key was removed from the set
            assert a.manager.drop_disallowed() == 1
            await until(lambda: a.peer_keys() == [] and b.peer_keys() == [], what="the removed key dropped")
            await until(lambda: a.manager.stats()["refused"] >= 1, what="b's reconnection refused")
            assert a.peer_keys() == []
        finally:
            await stop_all(b, a)

    run(main)


def test_a_stopped_layer_dials_nothing():
    async def main() -> None:
        a = await Node().start()
        await a.stop()
        assert a.manager.dial("ws://127.0.0.1:9") is False

    run(main)
