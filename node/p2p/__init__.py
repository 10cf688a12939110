"""The peer-to-peer layer: authenticated websocket connections between nodes, with gossip.

`PeerManager` (node.p2p.peers) is the whole interface the consensus driver
uses; the handshake (node.p2p.handshake) and the frame format
(node.p2p.frames) are pure and tested on their own.
"""

from node.p2p.frames import KIND_GOODBYE
from node.p2p.peers import P2PError, Peer, PeerManager

__all__ = ["KIND_GOODBYE", "P2PError", "Peer", "PeerManager"]
