# ruff: noqa: RUF001  # Turkish is written with the dotless i.
"""Undeclared text in the one-byte charsets of European mail, read as it was written.

Each paragraph is cut after every word, so the prefixes run from one 8-bit byte to many. The
figures in docs/parsing.md (Charsets) come from these prefixes.
"""

from __future__ import annotations

import re

import pytest

from helpdesk_ingest.parsing.text import TOO_FEW_TO_DETECT, codec_for, decode_bytes

_WESTERN = [
    "Bonjour, je n'arrive plus à me connecter à mon compte depuis hier soir. J'ai essayé de "
    "réinitialiser mon mot de passe mais je ne reçois pas le courriel. Pourriez-vous vérifier "
    "s'il y a un problème ? Merci d'avance pour votre aide rapide. Cordialement, Hélène Dupré",
    "Guten Tag, seit gestern Abend kann ich mich nicht mehr in mein Konto einloggen. Ich habe "
    "versucht, mein Passwort zurückzusetzen, aber ich erhalte keine E-Mail. Könnten Sie bitte "
    "prüfen, ob es ein Problem gibt? Vielen Dank für Ihre schnelle Hilfe. Mit freundlichen "
    "Grüßen, Jürgen Müller",
    "Hola, desde ayer por la noche no puedo acceder a mi cuenta. Intenté restablecer mi "
    "contraseña pero no recibo el correo electrónico. ¿Podrían comprobar si hay algún problema? "
    "Muchas gracias por su ayuda. Un saludo, José Martínez",
    "Olá, desde ontem à noite não consigo entrar na minha conta. Tentei redefinir a senha, mas "
    "não recebo o e-mail. Vocês poderiam verificar se há algum problema? Obrigado pela ajuda "
    "rápida. Atenciosamente, João Conceição",
    "Hej, sedan igår kväll kan jag inte logga in på mitt konto. Jag har försökt återställa "
    "lösenordet men får inget mejl. Kan ni kontrollera om det är något fel? Tack så mycket för "
    "snabb hjälp. Med vänliga hälsningar, Åsa Öberg",
    "Buongiorno, da ieri sera non riesco più ad accedere al mio account. Ho provato a "
    "reimpostare la password ma non ricevo l'e-mail. Potreste verificare se c'è un problema? "
    "Grazie mille per l'aiuto. Cordiali saluti, Niccolò Fabbri",
    "Hej, siden i går aftes kan jeg ikke logge ind på min konto. Jeg har prøvet at nulstille "
    "adgangskoden, men jeg modtager ingen e-mail. Kan I undersøge, om der er et problem? Mange "
    "tak for hjælpen. Venlig hilsen, Søren Ærø",
]
_OTHERS = [
    (
        "Dzień dobry, od wczoraj wieczorem nie mogę zalogować się na swoje konto. Próbowałem "
        "zresetować hasło, ale nie otrzymuję wiadomości e-mail. Czy mogą Państwo sprawdzić, czy "
        "jest jakiś problem? Dziękuję za szybką pomoc. Z poważaniem, Łukasz Wójcik",
        "cp1250",
    ),
    (
        "Dobrý den, od včerejšího večera se nemohu přihlásit ke svému účtu. Zkoušel jsem obnovit "
        "heslo, ale nepřišel mi žádný e-mail. Můžete prosím zkontrolovat, zda není nějaký "
        "problém? Děkuji za rychlou pomoc. S pozdravem, Jiří Dvořák",
        "cp1250",
    ),
    (
        "Jó napot, tegnap este óta nem tudok belépni a fiókomba. Megpróbáltam visszaállítani a "
        "jelszót, de nem kapok e-mailt. Meg tudnák nézni, hogy van-e valami probléma? Köszönöm a "
        "gyors segítséget. Üdvözlettel, Szőke Győző",
        "cp1250",
    ),
    (
        "Merhaba, dün akşamdan beri hesabıma giriş yapamıyorum. Şifremi sıfırlamayı denedim ama "
        "e-posta gelmiyor. Bir sorun olup olmadığını kontrol edebilir misiniz? Hızlı yardımınız "
        "için teşekkürler. Saygılarımla, Ayşe Öztürk",
        "cp1254",
    ),
]
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")


def _prefixes(text: str, charset: str) -> list[tuple[str, bytes]]:
    words = text.split(" ")
    cut = [" ".join(words[:count]) for count in range(1, len(words) + 1)]
    return [(prefix, prefix.encode(charset)) for prefix in cut if not prefix.isascii()]


def _misread(samples: list[tuple[str, bytes]], elsewhere: tuple[str, ...] = ()) -> list[str]:
    return [
        text for text, data in samples if decode_bytes(data, None, lambda: elsewhere)[0] != text
    ]


def _few(samples: list[tuple[str, bytes]], few: bool) -> list[tuple[str, bytes]]:
    return [
        (text, data)
        for text, data in samples
        if (len(_EIGHT_BIT.findall(data)) <= TOO_FEW_TO_DETECT) == few
    ]


WESTERN = [sample for text in _WESTERN for sample in _prefixes(text, "cp1252")]
OTHERS = {
    charset: [
        sample for text, used in _OTHERS if used == charset for sample in _prefixes(text, used)
    ]
    for charset in {used for _, used in _OTHERS}
}


def test_every_western_prefix_reads_as_written() -> None:
    # The 80 of them with one or two 8-bit bytes included, 11 of which detection misread.
    assert len(_few(WESTERN, few=True)) == 80
    assert _misread(WESTERN) == []


@pytest.mark.parametrize("charset", sorted(OTHERS))
def test_every_prefix_with_three_8bit_bytes_or_more_is_detected(charset: str) -> None:
    assert _misread(_few(OTHERS[charset], few=False)) == []


@pytest.mark.parametrize("charset", sorted(OTHERS))
def test_a_shorter_prefix_reads_as_written_in_the_charset_the_message_declares(
    charset: str,
) -> None:
    codec = codec_for(charset)
    assert codec is not None
    assert _misread(_few(OTHERS[charset], few=True), elsewhere=(codec,)) == []
