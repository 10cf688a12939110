"""The piazza: the pages every node serves to people (docs/piazza.md).

`/` is the residents' piazza (wallet, marketplace, agora) and `/explorer` the
chain explorer. They are static files shipped in this package (static/),
served from the same origin as the API so no cross-origin rule is needed;
everything a page knows it reads from /v1/ like any other client, and every
key it signs with stays in the browser.
"""
