"""Post-processing of the network's class probabilities (no ROS)."""
