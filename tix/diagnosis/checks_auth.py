"""Mail authentication in DNS: SPF (one record, valid, within 10 lookups, ending in -all,
allowing our outgoing servers), DMARC (present, valid, enforcing) and DKIM keys."""

from tix.diagnosis import spf
from tix.diagnosis.checks_dns import dns_problem
from tix.diagnosis.checks_maildns import wants_mail
from tix.diagnosis.dnsq import txt_strings

SPF_CHECKS = ("dns.spf", "dns.spf.syntax", "dns.spf.lookups", "dns.spf.all", "dns.spf.ours")


def probe_spf(ctx) -> None:
    name = ctx.target.name
    answer = ctx.dns.ask(name, "TXT", ctx.deadline)
    if answer.failed:
        dns_problem(ctx, "dns.spf", answer, name)
        return
    records = [t for t in txt_strings(answer) if spf.is_spf(t)]
    if not records:
        ctx.warn(
            "dns.spf",
            f"{name} has no SPF record: its mail is more likely to be taken for "
            "spam. Add one (v=spf1 ... -all).",
            f"{name} no tiene registro SPF: su correo "
            "tiene más probabilidad de acabar en spam. Añada uno (v=spf1 ... -all).",
            {},
        )
        return
    if len(records) > 1:
        ctx.fail(
            "dns.spf",
            f"{name} has {len(records)} SPF records: receivers treat that as an "
            "error (permerror). Merge them into one.",
            f"{name} tiene {len(records)} "
            "registros SPF: los receptores lo tratan como error (permerror). Únalos en uno.",
            {"spf": [r[:300] for r in records]},
        )
        return
    record = records[0]
    ctx.ok(
        "dns.spf",
        f"{name} has one SPF record.",
        f"{name} tiene un registro SPF.",
        {"spf": record[:500]},
    )
    parsed = spf.parse(record)
    if parsed.errors or len(record) > 450:
        errors = parsed.errors[:3] + (["longer than 450 characters"] if len(record) > 450 else [])
        ctx.fail(
            "dns.spf.syntax",
            f"The SPF record of {name} is invalid: {'; '.join(errors)}.",
            f"El registro SPF de {name} no es válido: {'; '.join(errors)}.",
            {"errors": errors},
        )
    else:
        ctx.ok(
            "dns.spf.syntax",
            f"The SPF record of {name} is valid.",
            f"El registro SPF de {name} es válido.",
            {},
        )
    walker = spf.Walker(ctx)
    try:
        lookups, void = walker.lookups(record)
    except ValueError as exc:
        ctx.fail(
            "dns.spf.lookups",
            f"The SPF record of {name} cannot be evaluated: {exc}.",
            f"El registro SPF de {name} no se puede evaluar: {exc}.",
            {},
        )
    else:
        facts = {"lookups": lookups, "void": void}
        if lookups > 10:
            ctx.fail(
                "dns.spf.lookups",
                f"The SPF record of {name} needs {lookups} DNS lookups, "
                "over the limit of 10: receivers reject it (permerror). Remove includes "
                "you no longer use.",
                f"El registro SPF de {name} necesita {lookups} "
                "consultas DNS, más del límite de 10: los receptores lo rechazan "
                "(permerror). Quite los include que ya no use.",
                facts,
            )
        elif void > 2:
            ctx.warn(
                "dns.spf.lookups",
                f"The SPF record of {name} includes {void} names that have no SPF: remove them.",
                f"El registro SPF de {name} incluye {void} nombres sin SPF: quítelos.",
                facts,
            )
        else:
            ctx.ok(
                "dns.spf.lookups",
                f"The SPF record of {name} needs {lookups} DNS lookups (limit 10).",
                f"El registro SPF de {name} necesita {lookups} consultas DNS (límite 10).",
                facts,
            )
    final = next((t for t in reversed(parsed.terms) if t.name == "all"), None)
    if final is None and not parsed.redirect:
        ctx.warn(
            "dns.spf.all",
            f"The SPF record of {name} does not end in -all or ~all: it "
            "protects nothing against forged senders.",
            f"El registro SPF de {name} no "
            "termina en -all o ~all: no protege contra remitentes falsos.",
            {},
        )
    elif final is not None and final.qualifier in ("+", "?"):
        ctx.fail(
            "dns.spf.all",
            f"The SPF record of {name} ends in {final.qualifier}all: it "
            "allows anyone to send as your domain. Use ~all or -all.",
            f"El registro SPF de {name} termina en {final.qualifier}all: permite a "
            "cualquiera enviar como su dominio. Use ~all o -all.",
            {},
        )
    else:
        ctx.ok(
            "dns.spf.all",
            f"The SPF record of {name} refuses other senders.",
            f"El registro SPF de {name} rechaza a otros remitentes.",
            {},
        )
    if ctx.conf.outgoing_ips and wants_mail(ctx):
        verdicts = {ip: spf.Walker(ctx).evaluate(ip, name, record) for ip in ctx.conf.outgoing_ips}
        failing = [ip for ip, v in verdicts.items() if v != "pass"]
        if failing:
            ctx.fail(
                "dns.spf.ours",
                f"The SPF record of {name} does not include our outgoing "
                "mail servers: mail you send through us fails SPF and lands in spam. Add "
                "our servers to it (see our SPF guide).",
                f"El registro SPF de {name} no "
                "incluye nuestros servidores de salida: el correo que envía con nosotros "
                "falla SPF y acaba en spam. Añádalos (vea nuestra guía de SPF).",
                {"verdicts": verdicts},
            )
        else:
            ctx.ok(
                "dns.spf.ours",
                f"The SPF record of {name} allows our outgoing servers.",
                f"El registro SPF de {name} permite nuestros servidores de salida.",
                {"verdicts": verdicts},
            )


def probe_dmarc(ctx) -> None:
    name = f"_dmarc.{ctx.target.name}"
    answer = ctx.dns.ask(name, "TXT", ctx.deadline)
    if answer.failed:
        dns_problem(ctx, "dns.dmarc", answer, name)
        return
    records = [t for t in txt_strings(answer) if t.lower().startswith("v=dmarc1")]
    if not records:
        ctx.warn(
            "dns.dmarc",
            f"{ctx.target.name} has no DMARC record: large mail providers "
            "(Gmail, Outlook) may reject or spam-folder its mail. Add one at _dmarc.",
            f"{ctx.target.name} no tiene registro DMARC: los grandes proveedores (Gmail, "
            "Outlook) pueden rechazar su correo o mandarlo a spam. Añada uno en _dmarc.",
            {},
        )
        return
    if len(records) > 1:
        ctx.fail(
            "dns.dmarc",
            f"{name} has {len(records)} DMARC records: receivers ignore them all. Keep one.",
            f"{name} tiene {len(records)} registros DMARC: los receptores "
            "los ignoran todos. Deje uno.",
            {"dmarc": records[:3]},
        )
        return
    ctx.ok(
        "dns.dmarc",
        f"{ctx.target.name} has a DMARC record.",
        f"{ctx.target.name} tiene registro DMARC.",
        {"dmarc": records[0][:300]},
    )
    tags, errors = spf.parse_dmarc(records[0])
    if errors:
        ctx.fail(
            "dns.dmarc.syntax",
            f"The DMARC record of {ctx.target.name} is invalid: {'; '.join(errors[:3])}.",
            f"El registro DMARC de {ctx.target.name} no es válido: {'; '.join(errors[:3])}.",
            {"errors": errors},
        )
        return
    ctx.ok("dns.dmarc.syntax", "The DMARC record is valid.", "El registro DMARC es válido.", tags)
    if tags.get("p", "").lower() == "none":
        ctx.warn(
            "dns.dmarc.policy",
            f"The DMARC policy of {ctx.target.name} is p=none: it only "
            "monitors, forged mail is still delivered. Move to quarantine when reports "
            "look clean.",
            f"La política DMARC de {ctx.target.name} es p=none: solo "
            "observa, el correo falsificado se sigue entregando. Pase a quarantine cuando "
            "los informes estén limpios.",
            tags,
        )
    else:
        ctx.ok(
            "dns.dmarc.policy",
            f"The DMARC policy is p={tags.get('p')}.",
            f"La política DMARC es p={tags.get('p')}.",
            tags,
        )


def probe_dkim(ctx) -> None:
    for selector in ctx.conf.dkim_selectors[:5]:
        name = f"{selector}._domainkey.{ctx.target.name}"
        answer = ctx.dns.ask(name, "TXT", ctx.deadline)
        records = txt_strings(answer)
        if answer.failed:
            dns_problem(ctx, "dns.dkim", answer, name, target=name)
            continue
        if not records:
            ctx.warn(
                "dns.dkim",
                f"No DKIM key at {name}: mail signed with it fails DKIM. "
                "Publish the key shown in the control panel.",
                f"No hay clave DKIM en "
                f"{name}: el correo firmado con ella falla DKIM. Publique la clave que "
                "muestra el panel de control.",
                {},
                target=name,
            )
            continue
        tags = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (p.partition("=") for p in records[0].split(";") if "=" in p)
        )
        if "p" not in tags or (tags.get("v") and tags["v"] != "DKIM1"):
            ctx.fail(
                "dns.dkim",
                f"The DKIM record at {name} is malformed (no v=DKIM1 / p=).",
                f"El registro DKIM de {name} está mal formado (sin v=DKIM1 / p=).",
                {"dkim": records[0][:200]},
                target=name,
            )
        elif not tags["p"]:
            ctx.warn(
                "dns.dkim",
                f"The DKIM key at {name} is revoked (empty p=).",
                f"La clave DKIM de {name} está revocada (p= vacío).",
                {},
                target=name,
            )
        else:
            ctx.ok(
                "dns.dkim",
                f"DKIM key published at {name}.",
                f"Clave DKIM publicada en {name}.",
                {"k": tags.get("k", "rsa")},
                target=name,
            )
