"""The client: encrypted keystore, transaction building and signing, node client."""
