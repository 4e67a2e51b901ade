"""Complaints per GB/T 36113 (DB1403/T 7.3): models arrive with their issue."""
