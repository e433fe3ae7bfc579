"""The utility floor, below training and evaluation alike: files written atomically and verified
(checkpoints), run folders and their locks, progress on the console. It imports only errors."""
