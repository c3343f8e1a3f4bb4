"""Catalogue: sellers' products and variants, and each variant's stock."""
