"""Losses and trainers (no ROS imports)."""
