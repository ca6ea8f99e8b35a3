"""Takes: a desktop studio for AI video renders."""
