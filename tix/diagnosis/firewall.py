"""The firewall: is the IP a customer names banned by fail2ban, where, since when, by which
rule; and the fix that unbans it (`fail2ban-client set JAIL unbanip IP`).

TIX_FAIL2BAN_CLIENT is the command (split like a shell would: a wrapper that runs it on the
account's server over ssh fits); it gets TIX_DIAGNOSIS_SERVER, the account's server address,
in its environment."""

import ast
import ipaddress
import os
import re
import subprocess
import time

from tix.diagnosis.model import Fix

JAIL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
FIX_KIND = "fail2ban.unban"


class Fail2banError(Exception):
    pass


def client(conf, *args: str, timeout: float = 5.0, server: str | None = None) -> str:
    env = dict(os.environ)
    if server:
        env["TIX_DIAGNOSIS_SERVER"] = server
    try:
        done = subprocess.run(
            [*conf.fail2ban_client, *args],
            capture_output=True,
            text=True,
            timeout=max(0.1, timeout),
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except FileNotFoundError:
        raise Fail2banError(f"{conf.fail2ban_client[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise Fail2banError("fail2ban-client did not answer in time") from None
    if done.returncode != 0:
        line = done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["?"]
        raise Fail2banError(f"fail2ban-client {' '.join(args[:2])} failed: {line[-1][:200]}")
    return done.stdout


def banned_in(conf, ip: str, timeout: float, server=None) -> list[str]:
    """The jails that ban `ip` right now."""
    out = client(conf, "banned", ip, timeout=timeout, server=server).strip()
    try:
        value = ast.literal_eval(out) if out else []
    except (ValueError, SyntaxError):
        raise Fail2banError(f"unexpected answer from fail2ban-client banned: {out[:80]}") from None
    jails = []
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, list | tuple):
            jails.extend(str(j) for j in entry)
        elif isinstance(entry, str):
            jails.append(entry)
    return [j for j in dict.fromkeys(jails) if JAIL.match(j)]


def ban_details(conf, jail: str, ip: str, timeout: float, server=None) -> dict:
    """When the ban started and ends, and the jail's rule (filter, retries, window)."""
    facts = {"jail": jail}
    out = client(conf, "get", jail, "banip", "--with-time", timeout=timeout, server=server)
    for line in out.splitlines():
        if line.split()[:1] == [ip]:
            match = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+ (-?\d+) = (\S+ \S+)", line)
            if match:
                facts.update(since=match[1], bantime_s=int(match[2]), until=match[3])
    for key in ("maxretry", "findtime"):
        try:
            facts[key] = client(conf, "get", jail, key, timeout=timeout, server=server).strip()
        except Fail2banError:
            pass
    try:
        regex = client(conf, "get", jail, "failregex", timeout=timeout, server=server)
        rules = re.findall(r"\[\d+\]: (.*)", regex)
        facts["failregex"] = [r[:200] for r in rules[:3]]
    except Fail2banError:
        pass
    return facts


def probe(ctx, ip: str) -> None:
    address = ipaddress.ip_address(ip)
    label = ip
    if not address.is_global:
        ctx.warn(
            "firewall.ip",
            f"{ip} is a private or reserved address: it is your local "
            'network\'s, not the one our servers see. Search "what is my IP" from the '
            "connection that fails and send us that one.",
            f"{ip} es una dirección privada "
            "o reservada: es la de su red local, no la que ven nuestros servidores. Busque "
            '"cuál es mi IP" desde la conexión que falla y envíenos esa.',
            {"ip": ip},
            target=label,
        )
    else:
        ctx.ok(
            "firewall.ip",
            f"{ip} is a public address.",
            f"{ip} es una dirección pública.",
            {"ip": ip},
            target=label,
        )
    server = (ctx.run.shared.get("server_ips") or [None])[0]
    try:
        jails = banned_in(ctx.conf, ip, ctx.remaining(), server)
    except Fail2banError as exc:
        ctx.unknown(
            "firewall.banned",
            f"could not ask the firewall: {exc}",
            f"no se pudo consultar el cortafuegos: {exc}",
            target=label,
        )
        return
    if not jails:
        ctx.ok(
            "firewall.banned",
            f"{ip} is not blocked by our firewall.",
            f"{ip} no está bloqueada por nuestro cortafuegos.",
            {"jails": []},
            target=label,
        )
        return
    for jail in jails[:5]:
        try:
            facts = ban_details(ctx.conf, jail, ip, ctx.remaining(), server)
        except Fail2banError as exc:
            facts = {"jail": jail, "error": str(exc)}
        facts["ip"] = ip
        since = facts.get("since", "?")
        until = facts.get("until")
        why_en = f"after {facts['maxretry']} failed attempts" if facts.get("maxretry") else ""
        why_es = f"tras {facts['maxretry']} intentos fallidos" if facts.get("maxretry") else ""
        fix = Fix(
            FIX_KIND,
            "firewall.banned",
            label,
            {"jail": jail, "ip": ip},
            f"Unblock {ip} in the firewall (jail {jail}, blocked {since}{' ' + why_en if why_en else ''}).",
            f"Desbloquear {ip} en el cortafuegos (regla {jail}, bloqueada {since}"
            f"{' ' + why_es if why_es else ''}).",
        )
        ctx.fail(
            "firewall.banned",
            f"{ip} is blocked by our firewall (jail {jail}) since "
            f"{since}{' ' + why_en if why_en else ''}{f', until {until}' if until else ''}: "
            "usually a wrong password saved in a mail or FTP program. Fix that password, "
            "then it can be unblocked.",
            f"{ip} está bloqueada por nuestro cortafuegos "
            f"(regla {jail}) desde {since}{' ' + why_es if why_es else ''}"
            f"{f', hasta {until}' if until else ''}: normalmente una contraseña errónea "
            "guardada en un programa de correo o FTP. Corrija esa contraseña y se podrá "
            "desbloquear.",
            facts,
            target=label,
            fix=fix,
        )


def unban(fix: Fix, conf) -> str:
    jail, ip = str(fix.params.get("jail", "")), str(fix.params.get("ip", ""))
    if not JAIL.match(jail):
        raise Fail2banError(f"not a jail name: {jail!r}")
    ip = str(ipaddress.ip_address(ip))  # ValueError for anything else: no option injection
    started = time.monotonic()
    client(conf, "set", jail, "unbanip", ip, timeout=10)
    if jail in banned_in(conf, ip, timeout=max(1.0, 10 - (time.monotonic() - started))):
        raise Fail2banError(f"{ip} is still banned in {jail}")
    return f"{ip} unblocked in the firewall (jail {jail})."
