"""The interactive demo: draw a digit, watch the capsules, slide the 16 pose dimensions (`python -m demo`)."""
