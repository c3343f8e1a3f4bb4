"""Identity and access: accounts, roles, tokens and their revocation."""
