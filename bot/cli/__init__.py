"""The `newsbot` command line: click commands, the local chat and terminal renderings."""
