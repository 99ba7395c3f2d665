"""The page itself: failure pages, mixed content, noindex, robots.txt, the CMS, PHP."""

from urllib.parse import urlsplit

from tix.diagnosis import pages
from tix.diagnosis.checks_web import Chain, chain_for, home, report_status

PAGE_IDS = (
    "web.response-time",
    *pages.PAGE_CHECKS,
    "web.mixed-content",
    "web.noindex",
    "web.cms",
    "web.cms.version",
    "web.php.version",
)


def probe_page(ctx) -> None:
    chain = chain_for(ctx, home(ctx, "https"))
    if chain.final is None or chain.offsite:
        chain = chain_for(ctx, home(ctx, "http"))
    if chain.final is None:
        for check_id in PAGE_IDS:
            ctx.unknown(check_id, "the home page did not load", "la página de inicio no cargó")
        return
    analyse(ctx, chain, ctx.target.name, home_page=True)


def analyse(ctx, chain: Chain, label: str, home_page: bool = False) -> None:
    page = chain.final
    text = page.text()
    found = pages.failure_pages(page.status, text)
    where = chain.final_url
    for kind in pages.FAILURE_PAGES:
        if kind in found:
            ctx.fail(
                kind.check_id,
                f"{where} answers {page.status} and {kind.en}.",
                f"{where} responde {page.status} y {kind.es}.",
                {"status": page.status, "url": where, "excerpt": _excerpt(text, kind)},
                target=label,
            )
        else:
            ctx.ok(
                kind.check_id,
                f"{where}: no '{kind.check_id.rsplit('.', 1)[1]}' page.",
                f"{where}: sin página '{kind.check_id.rsplit('.', 1)[1]}'.",
                {},
                target=label,
            )
    if urlsplit(where).scheme == "https":
        hosts = pages.mixed_content(text)
        if hosts:
            ctx.warn(
                "web.mixed-content",
                f"{where} loads scripts or images over plain http "
                f"(from {', '.join(hosts[:3])}): browsers block them or drop the padlock. "
                "Change those links to https://.",
                f"{where} carga scripts o imágenes por "
                f"http sin cifrar (de {', '.join(hosts[:3])}): los navegadores los bloquean "
                "o quitan el candado. Cambie esos enlaces a https://.",
                {"hosts": hosts},
                target=label,
            )
        else:
            ctx.ok(
                "web.mixed-content",
                f"{where} loads nothing over plain http.",
                f"{where} no carga nada por http sin cifrar.",
                {},
                target=label,
            )
    if not home_page:
        return
    if pages.noindex(text, page.headers):
        ctx.warn(
            "web.noindex",
            f"{where} tells search engines not to index it (noindex): it "
            "disappears from Google. In WordPress, untick 'Discourage search engines' "
            "(Settings > Reading).",
            f"{where} pide a los buscadores que no la indexen "
            "(noindex): desaparece de Google. En WordPress, desmarque 'Disuadir a los "
            "motores de búsqueda' (Ajustes > Lectura).",
            {},
            target=label,
        )
    else:
        ctx.ok(
            "web.noindex",
            f"{where} may be indexed by search engines.",
            f"{where} puede ser indexada por los buscadores.",
            {},
            target=label,
        )
    base = urlsplit(where)
    robots = f"{base.scheme}://{base.hostname}/robots.txt"
    ctx.spawn("web.robots", lambda c: probe_robots(c, robots), ("web.robots",), label=label)
    slow = ctx.conf.slow_ms
    facts = {"elapsed_ms": page.elapsed_ms, "limit_ms": slow, "truncated": page.truncated}
    if page.elapsed_ms > slow:
        ctx.warn(
            "web.response-time",
            f"{where} takes {page.elapsed_ms / 1000:.1f} s to answer: "
            "visitors leave. Look for slow plugins or enable a cache.",
            f"{where} tarda "
            f"{page.elapsed_ms / 1000:.1f} s en responder: los visitantes se van. Busque "
            "plugins lentos o active una caché.",
            facts,
            target=label,
        )
    else:
        ctx.ok(
            "web.response-time",
            f"{where} answers in {page.elapsed_ms:.0f} ms.",
            f"{where} responde en {page.elapsed_ms:.0f} ms.",
            facts,
            target=label,
        )
    found_cms = pages.cms(text, page.headers)
    if found_cms:
        name, version = found_cms
        title = {"wordpress": "WordPress", "joomla": "Joomla", "prestashop": "PrestaShop"}[name]
        shown = f"{title} {version or ''}".strip()
        ctx.ok(
            "web.cms",
            f"The site runs {shown}.",
            f"La web usa {shown}.",
            {"cms": name, "version": version},
            target=label,
        )
        minimum = ctx.conf.cms_minimum.get(name)
        if version and minimum and pages.older(version, minimum):
            ctx.warn(
                "web.cms.version",
                f"{shown} is out of date (we recommend {minimum} or "
                "later): old versions get hacked. Back up and update it.",
                f"{shown} está "
                f"desactualizado (recomendamos {minimum} o posterior): las versiones "
                "antiguas se comprometen. Haga copia y actualícelo.",
                {"version": version, "minimum": minimum},
                target=label,
            )
        elif version:
            ctx.ok(
                "web.cms.version",
                f"{shown} is recent enough.",
                f"{shown} está suficientemente actualizado.",
                {"version": version},
                target=label,
            )
        admin = {"wordpress": "/wp-login.php", "joomla": "/administrator/"}.get(name)
        if admin:
            base = urlsplit(where)
            url = f"{base.scheme}://{base.hostname}{admin}"
            ctx.spawn(
                "web.cms.admin",
                lambda c: probe_admin(c, url, name),
                ("web.cms.admin",),
                label=label,
            )
    else:
        ctx.ok(
            "web.cms",
            "No WordPress, Joomla or PrestaShop seen on the home page.",
            "No se ve WordPress, Joomla ni PrestaShop en la página de inicio.",
            {},
            target=label,
        )
    php = pages.php_version(page.headers)
    if php:
        old = pages.older(php, ctx.conf.php_minimum)
        (ctx.warn if old else ctx.ok)(
            "web.php.version",
            f"The site runs PHP {php}{' (no longer supported: move to ' + ctx.conf.php_minimum + ' or later in the control panel)' if old else ''}.",
            f"La web usa PHP {php}{' (ya sin soporte: pase a ' + ctx.conf.php_minimum + ' o posterior en el panel)' if old else ''}.",
            {"php": php, "minimum": ctx.conf.php_minimum},
            target=label,
        )


def _excerpt(text: str, kind) -> str:
    match = kind.pattern.search(text)
    if not match:
        return ""
    return text[max(0, match.start() - 60) : match.end() + 60].strip()[:240]


def probe_admin(ctx, url: str, cms: str) -> None:
    chain = chain_for(ctx, url)
    report_status(ctx, "web.cms.admin", chain, url)


def probe_robots(ctx, url: str) -> None:
    chain = chain_for(ctx, url)
    page = chain.final
    if page is None or page.status >= 400 or chain.offsite:
        ctx.ok(
            "web.robots",
            f"{url}: no robots.txt (crawlers may visit everything).",
            f"{url}: sin robots.txt (los buscadores pueden visitarlo todo).",
            {"status": page.status if page else None},
            target=ctx.task.label,
        )
    elif pages.robots_blocks_all(page.text()):
        ctx.warn(
            "web.robots",
            f"{url} forbids every search engine the whole site (Disallow: /)"
            ": it vanishes from Google. Remove that line unless it is on purpose.",
            f"{url} prohíbe a todos los buscadores toda la web (Disallow: /): desaparece "
            "de Google. Quite esa línea salvo que sea a propósito.",
            {"url": url},
            target=ctx.task.label,
        )
    else:
        ctx.ok(
            "web.robots",
            f"{url} lets search engines in.",
            f"{url} deja pasar a los buscadores.",
            {"url": url},
            target=ctx.task.label,
        )


def probe_urls(ctx) -> None:
    for url in ctx.target.urls:
        ctx.spawn(
            "web.url",
            lambda c, u=url: probe_url(c, u),
            ("web.url.status", *pages.PAGE_CHECKS, "web.mixed-content"),
            label=url,
        )


def probe_url(ctx, url: str) -> None:
    chain = chain_for(ctx, url)
    report_status(ctx, "web.url.status", chain, url)
    if chain.final is not None and not chain.offsite:
        analyse(ctx, chain, url)
