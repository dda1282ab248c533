"""The regions trailbook reads or writes for: one list, from botocore's endpoint data."""

from __future__ import annotations


def cloudtrail_regions(partition: str = "aws") -> list[str]:
    """Every region of the partition that botocore knows CloudTrail in, sorted."""
    import botocore.session

    regions = botocore.session.get_session().get_available_regions("cloudtrail", partition_name=partition)
    if not regions:
        raise ValueError(f"botocore knows no region of partition {partition!r}")
    return sorted(regions)
