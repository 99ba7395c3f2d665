"""What a page's body says: the well-known failure pages, and the CMS behind the site.

Pure functions on (status, headers, text), each pattern in the words the software prints,
English and Spanish where it is translated."""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PageKind:
    check_id: str
    pattern: re.Pattern
    statuses: tuple = ()  # only on these statuses (empty: any)
    en: str = ""
    es: str = ""


def _p(text: str) -> re.Pattern:
    return re.compile(text, re.I | re.S)


FAILURE_PAGES = (
    PageKind(
        "web.page.database",
        _p(
            r"Error establishing a database connection|Error al establecer una conexi[oó]n con "
            r"la base de datos|Database connection error|Link to database cannot be established|"
            r"SQLSTATE\[HY000\] \[(?:2002|1045|1040|2006)\]|Too many connections|mysqli?_connect\(\)"
        ),
        en="shows the database connection error page: the site cannot reach its database (check "
        "the database name, user and password in the site's configuration, e.g. wp-config.php, "
        "and that the database exists and is not over its quota)",
        es="muestra la página de error de conexión con la base de datos: la web no llega a su base "
        "de datos (revise el nombre, usuario y contraseña de la base de datos en la configuración "
        "de la web, p. ej. wp-config.php, y que la base de datos exista y no supere su cuota)",
    ),
    PageKind(
        "web.page.php",
        _p(
            r"(?:<b>)?(?:PHP )?(?:Fatal|Parse) error(?:</b>)?:|Uncaught (?:Error|Exception)|"
            r"Allowed memory size of \d+ bytes exhausted|There has been a critical error on "
            r"(?:this|your) website|Ha habido un error cr[ií]tico en (?:esta|tu) web"
        ),
        en="shows a PHP error (fatal or parse error, or WordPress's critical error): a plugin, "
        "theme or recent code change is broken; the site's error log names the file",
        es="muestra un error de PHP (error fatal o de sintaxis, o el error crítico de WordPress): "
        "un plugin, tema o cambio reciente está roto; el registro de errores de la web indica el "
        "archivo",
    ),
    PageKind(
        "web.page.server-error",
        _p(
            r"encountered an internal error or\s+misconfiguration|Internal Server Error|"
            r"Error interno del servidor|Invalid command .{0,80}\.htaccess|\.htaccess: "
        ),
        statuses=(500,),
        en="answers 500 Internal Server Error with the web server's own page: most often a wrong "
        "line in .htaccess or wrong file permissions",
        es="responde 500 Internal Server Error con la página del propio servidor web: casi "
        "siempre una línea errónea en .htaccess o permisos de archivo incorrectos",
    ),
    PageKind(
        "web.page.suspended",
        _p(
            r"This Account has been suspended|Account Suspended|suspendedpage\.cgi|"
            r"Cuenta suspendida|Esta cuenta ha sido suspendida"
        ),
        en='shows the hosting\'s "account suspended" page: the account is suspended (usually an '
        "unpaid invoice or an abuse report); billing can tell you why",
        es='muestra la página de "cuenta suspendida" del hosting: la cuenta está suspendida '
        "(normalmente una factura impagada o una denuncia de abuso); facturación le dirá el motivo",
    ),
    PageKind(
        "web.page.placeholder",
        _p(
            r"<title>\s*(?:Coming Soon|Pr[oó]ximamente|Default Web Site Page|Apache2 \w+ Default "
            r"Page|Welcome to nginx!|Test Page for the Apache|Under Construction|En construcci[oó]n)|"
            r"<h1>\s*It works!\s*</h1>|cPanel, L\.L\.C\.|defaultwebpage\.cgi"
        ),
        en='shows a placeholder page ("coming soon" or the server\'s default page), not your '
        "site: the files are not in the public folder (public_html) or the domain points at a "
        "different folder",
        es='muestra una página provisional ("próximamente" o la página por defecto del servidor), '
        "no su web: los archivos no están en la carpeta pública (public_html) o el dominio apunta "
        "a otra carpeta",
    ),
    PageKind(
        "web.page.listing",
        _p(r"<title>\s*Index of /|<h1>\s*Index of /"),
        statuses=(200,),
        en='shows a directory listing ("Index of /"): there is no index.php or index.html in '
        "the folder, and anyone can browse your files",
        es='muestra un listado de directorio ("Index of /"): no hay index.php ni index.html en la '
        "carpeta, y cualquiera puede ver sus archivos",
    ),
    PageKind(
        "web.page.maintenance",
        _p(
            r"Briefly unavailable for scheduled maintenance|Moment[aá]neamente no disponible por "
            r"mantenimiento"
        ),
        en="is stuck in WordPress's maintenance mode (an update was interrupted): delete the "
        "file .maintenance in the site's folder and check the update finished",
        es="está atascada en el modo mantenimiento de WordPress (una actualización se "
        "interrumpió): borre el archivo .maintenance de la carpeta de la web y compruebe que la "
        "actualización terminó",
    ),
    PageKind(
        "web.page.php-notice",
        _p(
            r"<b>(?:Warning|Notice|Deprecated)</b>:\s.{0,300}? in <b>/|(?:^|>)\s*(?:PHP )?"
            r"(?:Warning|Notice|Deprecated): .{0,300}? in /[\w/.-]+\.php on line \d+"
        ),
        en="prints PHP warnings into the page: visitors see them and they reveal the server's "
        "paths; turn display_errors off (PHP settings) and fix the warnings from the error log",
        es="muestra avisos de PHP en la página: los visitantes los ven y revelan las rutas del "
        "servidor; desactive display_errors (opciones de PHP) y corrija los avisos del registro "
        "de errores",
    ),
    PageKind(
        "web.page.defaced",
        _p(
            r"hacked by|defaced by|<title>[^<]*(?:hacked|owned by)|\b(?:viagra|cialis|"
            r"casino online|replica watches)\b"
        ),
        en="shows signs of being hacked (a defacement or spam words): restore a clean backup, "
        "update the CMS and its plugins, and change every password",
        es="muestra señales de estar comprometida (una desfiguración o palabras de spam): "
        "restaure una copia limpia, actualice el CMS y sus plugins, y cambie todas las "
        "contraseñas",
    ),
)
PAGE_CHECKS = tuple(p.check_id for p in FAILURE_PAGES)


def failure_pages(status: int, text: str) -> list[PageKind]:
    return [
        page
        for page in FAILURE_PAGES
        if (not page.statuses or status in page.statuses) and page.pattern.search(text)
    ]


GENERATOR = re.compile(r"<meta[^>]+name=[\"']generator[\"'][^>]*content=[\"']([^\"']+)", re.I)
GENERATOR_REV = re.compile(r"<meta[^>]+content=[\"']([^\"']+)[\"'][^>]*name=[\"']generator", re.I)
VERSION = re.compile(r"(\d+(?:\.\d+){1,3})")


def cms(text: str, headers: dict | None = None) -> tuple[str, str | None] | None:
    """(cms, version or None) when the page reveals WordPress, Joomla or PrestaShop."""
    generator = " ".join(GENERATOR.findall(text) + GENERATOR_REV.findall(text))
    for name, marker, hints in (
        ("wordpress", "wordpress", ("/wp-content/", "/wp-includes/", "wp-json")),
        ("joomla", "joomla", ("/media/jui/", "/media/system/js/", "com_content")),
        ("prestashop", "prestashop", ("var prestashop", "/modules/ps_", "prestashop")),
    ):
        if marker in generator.lower():
            found = VERSION.search(generator.lower().split(marker, 1)[1])
            return name, found[1] if found else None
        if any(h in text.lower() for h in hints):
            version = None
            if name == "wordpress":
                found = re.search(r"/wp-includes/[^\"']+\?ver=(\d+(?:\.\d+){1,2})", text)
                version = found[1] if found else None
            return name, version
    return None


def older(version: str, minimum: str) -> bool:
    def parts(v):
        return tuple(int(x) for x in re.findall(r"\d+", v)[:4])

    return parts(version) < parts(minimum)


def php_version(headers: dict) -> str | None:
    found = re.search(r"PHP/(\d+\.\d+(?:\.\d+)?)", headers.get("x-powered-by", ""))
    return found[1] if found else None


MIXED = re.compile(
    r"<(?:script|img|iframe|link|source|audio|video)\b[^>]*\b(?:src|href)=[\"']http://([^\"'/]+)",
    re.I,
)
NOINDEX = re.compile(r"<meta[^>]+name=[\"']robots[\"'][^>]*content=[\"'][^\"']*noindex", re.I)


def mixed_content(text: str) -> list[str]:
    """Hosts of resources an https page loads over plain http (the browser blocks or warns)."""
    return sorted({m[1].lower() for m in MIXED.finditer(text)})[:10]


def noindex(text: str, headers: dict) -> bool:
    return bool(NOINDEX.search(text)) or "noindex" in headers.get("x-robots-tag", "").lower()


def robots_blocks_all(text: str) -> bool:
    """robots.txt tells every crawler to stay out of the whole site."""
    agent_all, blocked = False, False
    for raw in text.splitlines()[:500]:
        line = raw.split("#", 1)[0].strip().lower()
        if line.startswith("user-agent:"):
            agent_all = line.split(":", 1)[1].strip() == "*"
        elif agent_all and line.startswith("disallow:") and line.split(":", 1)[1].strip() == "/":
            blocked = True
    return blocked
