"""The I/O shell: mempool, block production, HTTP API, the node process and the CLI."""
