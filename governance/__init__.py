"""The agora (spaces, proposals, comments, supports, ballots: FORMAT.md §6.7); participatory budgets and
the federation's own rules by vote come later (issue 15)."""
