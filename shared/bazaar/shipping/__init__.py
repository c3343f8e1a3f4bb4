"""Shipping: parcels handed to Shiprocket (order, AWB, pickup) and their tracking scans."""
