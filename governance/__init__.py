"""The agora (spaces, proposals, comments, supports, ballots: FORMAT.md §6.7; participatory budgets:
§6.7.1); the federation's own rules by vote come later (issue 15)."""
