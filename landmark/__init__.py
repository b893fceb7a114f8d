"""Landmark: OKRs and KPIs in one self-hosted place."""

__version__ = "0.1.0"
