"""tix/mailparse and tix/quotes without a store: messages in the shapes real clients send
(written here, modelled on public mail-parsing test suites; bench/mail_corpus.py runs the real
ones)."""

import base64

import pytest

from tix import mailparse
from tix.errors import InvalidInput
from tix.quotes import footer_patterns, trim_reply


def message(body: str | bytes, *, headers: str = "", ctype: str = "text/plain; charset=utf-8"):
    head = (
        "From: Olga Alpha <owner@alpha.test>\nTo: help@host.test\nSubject: Re: [K7QD-4MZP] Site\n"
        f"Message-ID: <m1@alpha.test>\nMIME-Version: 1.0\n{headers}Content-Type: {ctype}\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    ).encode()
    return head + (body.encode() if isinstance(body, str) else body)


def reply_of(raw: bytes) -> str:
    return trim_reply(mailparse.parse(raw).text)


# -- replies: where the customer's words are ---------------------------------------------------


def test_bottom_posted_reply_keeps_the_text_below_the_quote():
    text = (
        "Hi,\nOn Tue, 4 Mar 2025 at 10:02, Hana Hosting <hosting@host.test> wrote:\n"
        "> Which PHP version does the site need?\n>\n> Hana\n\n"
        "PHP 8.2, and the shop stays down until then.\n\nOlga\n"
    )
    assert trim_reply(text) == "Hi,\n\nPHP 8.2, and the shop stays down until then.\n\nOlga"


def test_interleaved_reply_keeps_each_answer():
    text = (
        "On 4 Mar 2025, at 10:02, Hana <hosting@host.test> wrote:\n\n"
        "> Which domain?\nalpha.test\n\n> Since when?\nThis morning, 9:15.\n\n"
        "> Any change on your side?\nNone.\n"
    )
    assert trim_reply(text) == "alpha.test\n\nThis morning, 9:15.\n\nNone."


def test_a_quoted_line_wrapped_without_its_marker_goes_with_the_quote():
    text = (
        "Done.\n\n"
        "> Lorem ipsum dolor sit amet, consectetur adipiscing elit, the wrapped line goes on\n"
        "in lower case\n> and the quote goes on.\n"
    )
    assert trim_reply(text) == "Done."


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Mar 2025 at 11:00, Soporte <s@tix.test> wrote:",  # en (Gmail)
        "El lun, 3 mar 2025 a las 11:00, Soporte (<s@tix.test>)\nescribió:",  # es, wrapped
        "Em 3 de março de 2025 às 11:00, Suporte <s@tix.test> escreveu:",  # pt
        "Le lun. 3 mars 2025 à 11:00, Support <s@tix.test> a écrit :",  # fr
        "Am Mo., 3. März 2025 um 11:00 Uhr schrieb Support <s@tix.test>:",  # de
        "Il giorno lun 3 mar 2025 alle ore 11:00 Supporto <s@tix.test> ha scritto:",  # it
        "Op ma 3 mrt. 2025 om 11:00 schreef Support <s@tix.test>:",  # nl
        "El dl., 3 de març 2025 a les 11:00, Suport (<s@tix.test>) va escriure:",  # ca
        "пн, 3 мар. 2025 г. в 11:00, Поддержка <s@tix.test>:",  # ru (Gmail, no verb)
        "Поддержка <s@tix.test> писал 3 марта 2025, 11:00 пишет:",  # ru
        "Support <s@tix.test> 于2025年3月3日周一 11:00写道：",  # zh
        "2025年3月3日(月) 11:00 Support <s@tix.test>:",  # ja (Gmail)
        "2014-03-20 8:48 GMT+01:00 Support <s@tix.test>:",  # Gmail's ISO form
        "On Mon, Mar 3, 2025 at 11:00 AM Support Desk of Host <\nsupport@tix.test> wrote:",
    ],
)
def test_attributions_in_the_languages_customers_write(attribution):
    text = f"Ya funciona, gracias.\n\n{attribution}\n> Hola\n> ¿Sigue caída la web?\n"
    assert trim_reply(text) == "Ya funciona, gracias."


@pytest.mark.parametrize(
    "block",
    [
        "De: Soporte <s@tix.test>\nEnviado: lunes, 3 de marzo de 2025 11:00\nPara: Olga\nAsunto: Web",
        "Von: Support <s@tix.test>\nGesendet: Montag, 3. März 2025 11:00\nAn: Olga\nBetreff: Web",
        "De : Support <s@tix.test>\nEnvoyé : lundi 3 mars 2025 11:00\nÀ : Olga\nObjet : Web",
        "Da: Supporto <s@tix.test>\nInviato: lunedì 3 marzo 2025 11:00\nA: Olga\nOggetto: Web",
        "Van: Support <s@tix.test>\nVerzonden: maandag 3 maart 2025 11:00\nAan: Olga",
        "De: Suporte <s@tix.test>\nEnviado: segunda-feira, 3 de março de 2025 11:00\nPara: Olga",
        "От: Поддержка <s@tix.test>\nОтправлено: 3 марта 2025 г. 11:00\nКому: Olga",
        "发件人: Support <s@tix.test>\n发送时间: 2025年3月3日 11:00\n收件人: Olga",
        "差出人: Support <s@tix.test>\n送信日時: 2025年3月3日 11:00\n宛先: Olga",
        "________________________________\nFrom: Support <s@tix.test>\nSent: Monday",
        "-----Ursprüngliche Nachricht-----\nVon: Support",
        "-------- Message d'origine --------\nDe : Support",
        "Date: Mon, 3 Mar 2025 11:00\nFrom: Support <s@tix.test>\nSubject: Web",  # Hotmail
    ],
)
def test_outlook_reply_headers_in_the_customers_language(block):
    assert trim_reply(f"Arreglado.\n\n{block}\n\nHistorial sin citar.\n") == "Arreglado."


@pytest.mark.parametrize(
    "footer",
    [
        "Enviado desde mi iPhone",
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Inviato da iPhone",
        "Verzonden vanaf mijn iPhone",
        "Enviado do meu iPhone",
        "Enviat des del meu iPhone",
        "Отправлено с iPhone",
        "发自我的iPhone",
        "iPhoneから送信",
        "Sent from my Wiko RIDGE FAB 4G",
        "Get Outlook for Android<https://aka.ms/ghei36>",
    ],
)
def test_mobile_footers_end_the_reply(footer):
    assert trim_reply(f"Funciona.\n\n{footer}\n\nHistorial sin citar\n") == "Funciona."


def test_a_sentence_that_starts_like_a_footer_is_kept():
    text = "Here is the log.\n\nSent from my desk, which is easier than my phone.\n"
    assert trim_reply(text) == text.strip()


def test_the_footers_are_a_setting(monkeypatch):
    custom = footer_patterns("Mandado desde mi *")
    assert trim_reply("Ok.\nMandado desde mi Fairphone\nold", custom) == "Ok."
    assert trim_reply("Ok.\nSent from my iPhone", custom) == "Ok.\nSent from my iPhone"
    both = footer_patterns("default|Mandado desde mi *")
    assert trim_reply("Ok.\nSent from my iPhone", both) == "Ok."
    monkeypatch.setenv("TIX_MAIL_FOOTERS", "Mandado desde mi *")
    assert trim_reply("Ok.\nSent from my iPhone") == "Ok.\nSent from my iPhone"


def test_a_reply_is_never_trimmed_to_nothing_when_the_customer_wrote_something():
    # A history header at the very top (a forward without its marker): keep, not drop.
    text = "From: Bank <no-reply@bank.test>\nSent: Monday\nTo: Olga\n\nYour invoice is late."
    assert "Your invoice is late." in trim_reply(text)
    assert trim_reply("On Mon, 3 Mar 2025, S <s@tix.test> wrote:\n> only quotes") == ""


# -- forwards, HTML, the body part -------------------------------------------------------------


def test_inline_forward_keeps_the_forwarded_text():
    text = (
        "Mira esto:\n\n---------- Forwarded message ---------\n"
        "From: Bank <no-reply@bank.test>\nDate: Mon, 3 Mar 2025\nSubject: Invoice\n"
        "To: Olga\n\nYour domain expires tomorrow.\n"
    )
    assert "Your domain expires tomorrow." in reply_of(message(text))


def test_forwarded_message_keeps_its_text_and_names_its_files_by_their_own_names():
    pdf = base64.b64encode(b"%PDF-1.4 invoice").decode()
    inner = (
        "From: Registrar <no-reply@registrar.test>\nSubject: Renewal notice\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=in\n\n"
        "--in\nContent-Type: text/plain; charset=utf-8\n\nYour domain alpha.test expires.\n"
        f'--in\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="factura-03.pdf"\n'
        f"Content-Transfer-Encoding: base64\n\n{pdf}\n--in--\n"
    )
    raw = message(
        f"--out\nContent-Type: text/plain; charset=utf-8\n\nIs this real?\n"
        f"--out\nContent-Type: message/rfc822\n\n{inner}\n--out--\n",
        ctype="multipart/mixed; boundary=out",
    )
    parsed = mailparse.parse(raw)
    assert "Is this real?" in parsed.text and "Your domain alpha.test expires." in parsed.text
    assert [a.filename for a in parsed.attachments] == ["Renewal notice.eml", "factura-03.pdf"]
    assert parsed.attachments[1].data == b"%PDF-1.4 invoice"


def test_an_empty_plain_alternative_never_wins_over_a_real_html_part():
    raw = message(
        "--a\nContent-Type: text/plain; charset=utf-8\n\n \n\n"
        "--a\nContent-Type: text/html; charset=utf-8\n\n<p>La web da error 500.</p>\n--a--\n",
        ctype="multipart/alternative; boundary=a",
    )
    assert mailparse.parse(raw).text == "La web da error 500."


def test_outlook_html_keeps_from_and_its_value_on_one_line():
    html = (
        "<html><body><p class=MsoNormal>Ya est&aacute;.<o:p></o:p></p>\r\n"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt'><p class=MsoNormal><b>From:"
        "</b>\r\nSoporte &lt;s@tix.test&gt;<br><b>Sent:</b> Monday, March 3, 2025 11:00<br>\r\n"
        "<b>To:</b> Olga<br><b>Subject:</b> Web</p></div><p>old history</p></body></html>"
    )
    parsed = mailparse.parse(message(html, ctype="text/html; charset=utf-8"))
    assert "From: Soporte <s@tix.test>" in parsed.text.splitlines()
    assert trim_reply(parsed.text) == "Ya está."


def test_html_blockquotes_become_quoted_lines():
    html = "<div>Gracias</div><div class=gmail_quote>On Mon, 3 Mar 2025, S &lt;s@tix.test&gt; wrote:<blockquote>old</blockquote></div>"
    parsed = mailparse.parse(message(html, ctype="text/html; charset=utf-8"))
    assert "> old" in parsed.text and trim_reply(parsed.text) == "Gracias"


# -- charsets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, data, text",
    [
        (
            "gb2312",
            "网站打不开，请帮忙。镕".encode("gbk"),
            "网站打不开，请帮忙。镕",
        ),  # 镕 is GBK only
        ("us-ascii", "¿Está caída la web?".encode(), "¿Está caída la web?"),
        (None, "¿Está caída la web?".encode(), "¿Está caída la web?"),
        ("iso-8859-1", "Ça ne marche pas, déjà".encode(), "Ça ne marche pas, déjà"),
        ("iso-8859-1", "Ça ne marche pas, déjà".encode("latin-1"), "Ça ne marche pas, déjà"),
        ("iso-8859-1", "“quoted” – €5".encode("cp1252"), "“quoted” – €5"),
        (
            "ks_c_5601-1987",
            "웹사이트가 안 열려요 똠방각하".encode("cp949"),
            "웹사이트가 안 열려요 똠방각하",
        ),
        ("windows-874", "เว็บไซต์ใช้งานไม่ได้".encode("cp874"), "เว็บไซต์ใช้งานไม่ได้"),
        ("big5", "網站無法開啟".encode(), "網站無法開啟"),  # a CJK label over UTF-8
        ("x-unknown", "Страница не открывается".encode("cp1251"), "Страница не открывается"),
    ],
)
def test_charset_labels_that_are_subsets_decode_without_damage(label, data, text):
    ctype = f"text/plain; charset={label}" if label else "text/plain"
    assert mailparse.parse(message(data, ctype=ctype)).text.strip() == text


def test_raw_8bit_headers_and_filenames_are_read_as_utf8():
    raw = (
        "From: José Núñez <jose@alpha.test>\nSubject: Factura de marzo: ¿error?\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain; charset=utf-8\n\nAdjunto.\n"
        '--b\nContent-Type: application/pdf; name="Año 2025 €.pdf"\n'
        "Content-Transfer-Encoding: base64\n\nJVBERg==\n--b--\n"
    ).encode()
    parsed = mailparse.parse(raw)
    assert parsed.subject == "Factura de marzo: ¿error?" and parsed.sender_name == "José Núñez"
    assert [a.filename for a in parsed.attachments] == ["Año 2025 €.pdf"]


def test_rfc2047_words_and_rfc2231_parameters():
    # A character split over two encoded words; a gb2312 label over GBK; a continued RFC 2231
    # name; an RFC 2047 word in a filename (Outlook).
    euro = "€".encode()
    first = base64.b64encode(b"Precio " + euro[:1]).decode()
    second = base64.b64encode(euro[1:] + b" 5").decode()
    gbk = base64.b64encode("镕".encode("gbk")).decode()
    raw = (
        f"From: =?gb2312?b?{gbk}?= <li@alpha.test>\n"
        f"Subject: =?utf-8?b?{first}?=\n =?utf-8?b?{second}?=\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        "Content-Type: text/plain\n\nx\n--b\nContent-Type: application/pdf\n"
        "Content-Disposition: attachment;\n filename*0*=utf-8''Presupuesto%20a%C3%B1o;\n"
        " filename*1*=%202025.pdf\n\nx\n--b\nContent-Type: application/pdf;\n"
        ' name="=?iso-8859-1?q?Contrase=F1a.pdf?="\n\nx\n--b--\n'
    ).encode()
    parsed = mailparse.parse(raw)
    assert parsed.subject == "Precio € 5"
    assert parsed.sender_name == "镕" and parsed.sender == "li@alpha.test"
    assert [a.filename for a in parsed.attachments] == [
        "Presupuesto año 2025.pdf",
        "Contraseña.pdf",
    ]


def test_rfc6532_utf8_address_is_the_sender():
    raw = message("Hola", headers="").replace(
        b"From: Olga Alpha <owner@alpha.test>", "From: Jörg <jörg@bücher.test>".encode()
    )
    parsed = mailparse.parse(raw)
    assert (parsed.sender, parsed.sender_name, parsed.sender_problem) == (
        "jörg@bücher.test",
        "Jörg",
        None,
    )


# -- broken MIME that clients still read -------------------------------------------------------


def test_unquoted_boundary_with_an_equals_sign_outlook_express():
    raw = message(
        "------=_NextPart_000_0012_01D0\nContent-Type: text/plain; charset=iso-8859-1\n\n"
        "Sigue sin funcionar.\n------=_NextPart_000_0012_01D0\nContent-Type: text/html\n\n"
        "<p>Sigue sin funcionar.</p>\n------=_NextPart_000_0012_01D0--\n",
        ctype="multipart/alternative; boundary=----=_NextPart_000_0012_01D0",
    )
    assert mailparse.parse(raw).text == "Sigue sin funcionar."


def test_a_header_continuation_without_indentation_is_joined():
    raw = (
        b"From: Olga <owner@alpha.test>\nSubject: the site is down\nsince this morning\n"
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        b"Hola, la web no carga \xc3\xa9\n"
    )
    parsed = mailparse.parse(raw)
    assert parsed.subject == "the site is down since this morning"
    assert parsed.text.strip() == "Hola, la web no carga é"
    assert parsed.repairs == ["header lines without indentation joined"]


@pytest.mark.parametrize(
    "junk", [b"From owner@alpha.test Mon Mar  3 11:00:00 2025\n", b">From owner@alpha.test\n"]
)
def test_a_junk_line_before_the_headers_is_skipped(junk):
    parsed = mailparse.parse(junk + message("Hola"))
    assert parsed.sender == "owner@alpha.test" and parsed.text.strip() == "Hola"


@pytest.mark.parametrize("depth, ctype", [(3000, "multipart/mixed"), (400, "message/rfc822")])
def test_deep_nesting_is_refused_cleanly(depth, ctype):
    if ctype == "multipart/mixed":
        head = "".join(
            f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(depth)
        )
        raw = message(head + "--bx\n", ctype="multipart/mixed; boundary=b0")
    else:
        raw = message("From: x@y.test\nContent-Type: message/rfc822\n\n" * depth, ctype=ctype)
    with pytest.raises(InvalidInput, match="nests"):
        mailparse.parse(raw)


# -- never answer these (backscatter) ----------------------------------------------------------


@pytest.mark.parametrize(
    "headers, reason",
    [
        ("X-Spam-Flag: YES\n", "X-Spam-Flag: YES"),
        ("X-Spam-Status: Yes, score=9.1 required=5.0\n", "X-Spam-Status: Yes"),
        ("X-Spam-Score: 7.5\n", "X-Spam-Score: 7.5"),
        ("X-Spam-Score: 2.0\n", None),
        ("List-Id: <users.lists.test>\n", "list mail (List-Id)"),
        ("List-Unsubscribe: <mailto:u@lists.test>\n", "list mail (List-Unsubscribe)"),
        ("Precedence: bulk\n", "Precedence: bulk"),
        ("Return-Path: <>\n", "null sender (Return-Path: <>)"),
        ("", None),
    ],
)
def test_mail_that_must_never_be_answered_is_flagged(headers, reason):
    assert mailparse.parse(message("x", headers=headers)).no_notice == reason


def test_the_spam_score_threshold_is_a_setting():
    raw = message("x", headers="X-Spam-Score: 3.5\n")
    assert mailparse.parse(raw).no_notice is None
    assert mailparse.parse(raw, spam_score=3.0).no_notice == "X-Spam-Score: 3.5"


def test_mailer_daemon_is_a_null_sender():
    raw = message("x").replace(b"owner@alpha.test", b"MAILER-DAEMON@mx.alpha.test")
    assert mailparse.parse(raw).no_notice == "null sender (mailer-daemon)"


def test_blanks_before_a_header_colon_obsolete_syntax_are_read():
    raw = b"From  : Olga <owner@alpha.test>\r\nSubject   : Hola\r\n\r\nLa web no carga.\r\n"
    parsed = mailparse.parse(raw)
    assert (parsed.sender, parsed.subject, parsed.text.strip()) == (
        "owner@alpha.test",
        "Hola",
        "La web no carga.",
    )
