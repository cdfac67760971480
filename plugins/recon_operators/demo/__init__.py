"""The local demo (``make demo``) and the service helpers it shares with the test fixtures."""
