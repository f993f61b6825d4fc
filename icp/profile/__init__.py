"""The ICP itself: its model, the scoring it implies, drafting and carrying it to other lists."""
