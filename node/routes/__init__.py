"""The node's HTTP routes, each declared once in the route table of its file (node/routes/table.py).

node/routes/core.py lists the tables every node serves; the registrar's vault
adds node/vault_api.py's table where it is enabled, and a chain module
(market/, governance/) adds its own from its own file:
`create_app(config, tables=[*CORE, market_routes])`. Nothing else needs
editing to add a route: the routing, the validation and /v1/openapi.json all
follow from the tables.

This package's own import is empty on purpose: node/routes/table.py imports
nothing of the node, so a module's route file can use it without pulling in
the node's route files.
"""
