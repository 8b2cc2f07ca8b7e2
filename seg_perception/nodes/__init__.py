"""ROS 2 nodes: the only package (with the bag tools) that imports rclpy."""
