"""End-to-end driving in Gymnasium's CarRacing-v3: simulator, expert, policy (no ROS)."""
