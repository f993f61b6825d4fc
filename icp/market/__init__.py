"""The ICP applied: market size, targets and tiers, out-of-sample validation, versions."""
