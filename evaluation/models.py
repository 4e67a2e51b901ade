"""好差评 ratings and assessment (DB1403/T 8): models arrive with their issue."""
