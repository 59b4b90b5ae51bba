"""Pure statistics over the tables: pass rates per cell, intervals clustered by seed, chains, seeds planning."""
