"""Test fakes of the systems gitops-bot talks to, checked against their real contracts."""
