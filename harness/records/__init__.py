"""What lasts: trial records written atomically, running totals, and the tables rebuilt from the records."""
