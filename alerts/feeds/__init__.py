"""Feeds: JMA / CAP Atom polling, the local feed server and scenario replay."""
