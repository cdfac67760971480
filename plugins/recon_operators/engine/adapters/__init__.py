"""One module per engine a reconciliation can read (see each module)."""
