"""A plug-in check that fails, as a misconfigured company check would: the ticket must still be
filed, with the failure reported, never silently dropped."""


def disk_quota(draft):
    raise ConnectionError("quota service at 10.0.0.9 unreachable")
