"""What people read: the end-of-sweep summary, the headline table, figures, and the notebooks run into HTML."""
