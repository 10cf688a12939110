"""Keys and what they prove: encrypted key files and passwords (keystore), signed API requests
(request_auth), and the TLS trust a client checks a node against (tls_client). Below the wallet, the node
and the identity vault, which all use them; imports nothing above the ledger."""
