"""Alur: provision a small DevOps flow on Debian hosts with Ansible."""

__version__ = "0.1.0"
