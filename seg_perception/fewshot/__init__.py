"""Few-shot segmentation by adaptive masked proxies (Siam et al., ICCV 2019), no ROS."""
