"""An example account-check plug-in (see docs/diagnosis.md), installed in the tests by putting
this folder, with its .dist-info, on sys.path: exactly what `pip install` leaves behind.

A probe gets a `tix.diagnosis.engine.Context` (ctx.target, ctx.conf, ctx.dns, ctx.ok/warn/
fail/unknown(check_id, en, es, facts, fix=...)); a fix gets the Fix and the settings and returns
what it did. Here: the disk quota of each hosting account, as the company's panel exports it
to a JSON file {"alpha.test": {"used_mb": 980, "quota_mb": 1000}}.
"""

import json
import os

from tix.diagnosis import Fix


def _quotas() -> dict:
    with open(os.environ["TIX_EXAMPLE_QUOTA_FILE"], encoding="utf-8") as handle:
        return json.load(handle)


def disk_quota(ctx):
    quota = _quotas().get(ctx.target.name)
    if quota is None:
        ctx.unknown("example.quota", "no quota known", "cuota desconocida")
        return
    used = quota["used_mb"] / quota["quota_mb"]
    facts = {**quota, "used": round(used, 2)}
    if used < 0.9:
        ctx.ok("example.quota", "Disk space is fine.", "El espacio en disco está bien.", facts)
        return
    fix = Fix(
        "example.raise-quota",
        "example.quota",
        ctx.target.name,
        {"domain": ctx.target.name, "quota_mb": quota["quota_mb"] + 500},
        f"Raise the disk quota of {ctx.target.name} by 500 MB (free for a month).",
        f"Ampliar la cuota de disco de {ctx.target.name} en 500 MB (gratis un mes).",
    )
    ctx.fail(
        "example.quota",
        f"The hosting of {ctx.target.name} is {used:.0%} full: uploads and mail fail.",
        f"El hosting de {ctx.target.name} está al {used:.0%}: fallan subidas y correo.",
        facts,
        fix=fix,
    )


disk_quota.aspects = ("web",)  # runs for hosting targets only


def raise_quota(fix, conf) -> str:
    quotas = _quotas()
    quotas[fix.params["domain"]]["quota_mb"] = fix.params["quota_mb"]
    with open(os.environ["TIX_EXAMPLE_QUOTA_FILE"], "w", encoding="utf-8") as handle:
        json.dump(quotas, handle)
    return f"quota of {fix.params['domain']} raised to {fix.params['quota_mb']} MB"


def broken(ctx):
    raise ConnectionError("quota service at 10.0.0.9 unreachable")
