"""One trial end to end (generate, score, record), a chain as a loop over it, and what makes a trial this trial."""
