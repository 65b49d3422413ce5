"""Display: HTML for notebooks and pages, kept apart from the domain types it shows."""
