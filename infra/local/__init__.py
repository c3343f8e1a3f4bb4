"""The local twin: Bazaar on one machine, with no AWS account, built from the same description."""
