"""The browser view's ROS-free parts: the shared newest state and the web server."""
