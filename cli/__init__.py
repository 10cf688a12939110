"""What every `incoop` command shares: one-line errors, --json output, amounts, confirmations
(common). Below genesis, the wallet and the node, whose command modules use it."""
