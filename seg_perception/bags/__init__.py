"""Rosbag tools without ROS: read any bag, decode its images, write bags, build and evaluate.

``bag_reader`` opens rosbag2 (a folder with ``metadata.yaml``, or a bare ``.db3`` or
``.mcap`` file) and ROS 1 ``.bag`` files through ``rosbags``; ``bag_writer`` writes
MCAP, sqlite3 or ROS 1 bags atomically; ``bag_formats`` says which bag a path names;
``image_messages`` turns image messages into RGB and label arrays with the node's
codecs and holds the bag errors; ``bag_make`` builds a bag from an image sequence;
``bag_eval`` runs the node's ``SegmentationPipeline`` over a bag. Live playback and
recording (``rclpy``) live in ``seg_perception.nodes``.
"""
