"""The data-protection notice (GDPR Art. 13), printed on the ballot and on the cover letter.

One source for both: a list of (heading, sentence) parts. The ballot runs them together
in one paragraph; the cover letter prints each with its heading. The names and
addresses come from process.yaml (`privacy:`); which recipients are named follows the
process's channels (Twilio only with SMS or phone, text-to-speech only with phone).
Phone numbers are kept as a keyed hash: that is pseudonymisation, not encryption.
"""

from __future__ import annotations

from hybrid.definition import Privacy, Process
from hybrid.errors import InvalidInput

_PARTS: dict[str, dict[str, tuple[str, str]]] = {
    "de": {
        "title": ("Datenschutz (Art. 13 DSGVO)", ""),
        "controller": ("Verantwortlich", "{controller}."),
        "officer": ("Datenschutzbeauftragte(r)", "{officer}."),
        "purpose": ("Zweck und Rechtsgrundlage",
                    "Durchführung der Beteiligung „{title}“; Art. 6 Abs. 1 lit. e DSGVO (Aufgabe im öffentlichen "
                    "Interesse)."),
        "secret": ("Geheime Stimme",
                   "Der Code auf dem Stimmzettel ist nicht mit Ihrem Namen oder Ihrer Anschrift gespeichert."),
        "address": ("Ihre Anschrift",
                    "Wir nutzen sie nur, um Ihnen diesen Brief zu schicken. Sie wird nicht gespeichert."),
        "print_shop": ("Empfänger", "{print_shop} druckt und versendet die Unterlagen im Auftrag der Stadt "
                       "(Art. 28 DSGVO)."),
        "twilio": ("SMS und Telefon",
                   "SMS und Anrufe laufen über Twilio Ireland Ltd.; dabei können Daten in die USA übermittelt "
                   "werden (Garantien: EU-US Data Privacy Framework und Standardvertragsklauseln, Art. 45 und 46 "
                   "DSGVO). Ihre Telefonnummer speichern wir nur pseudonymisiert, als Prüfwert mit geheimem "
                   "Schlüssel."),
        "voice": ("Ansage am Telefon", "Die Sprachansage erzeugt Twilio mit Amazon Polly."),
        "retention": ("Speicherdauer",
                      "Nachrichten, Prüfwerte und Scans löschen wir {days} Tage nach Ende der Beteiligung. Das "
                      "Ergebnis enthält keine personenbezogenen Daten."),
        "rights": ("Ihre Rechte",
                   "Auskunft, Berichtigung, Löschung und Einschränkung (Art. 15 bis 18 DSGVO) und Widerspruch "
                   "(Art. 21 DSGVO). Beschwerde bei der Aufsichtsbehörde: {authority}."),
        "more": ("Mehr dazu", "{url}"),
    },
    "en": {
        "title": ("Data protection (Art. 13 GDPR)", ""),
        "controller": ("Controller", "{controller}."),
        "officer": ("Data protection officer", "{officer}."),
        "purpose": ("Purpose and legal basis",
                    "Running the participation \u201c{title}\u201d; Art. 6(1)(e) GDPR (a task in the public interest)."),
        "secret": ("A secret vote", "The code on the ballot is not stored with your name or address."),
        "address": ("Your address", "We use it only to send you this letter. It is not stored."),
        "print_shop": ("Recipients", "{print_shop} prints and posts the papers on behalf of the city "
                       "(Art. 28 GDPR)."),
        "twilio": ("Text messages and calls",
                   "Text messages and calls pass through Twilio Ireland Ltd.; data may be transferred to the USA "
                   "(safeguards: EU-US Data Privacy Framework and standard contractual clauses, Art. 45 and 46 "
                   "GDPR). We keep your phone number only pseudonymised, as a check value under a secret key."),
        "voice": ("Phone menu", "Twilio speaks the phone menu with Amazon Polly."),
        "retention": ("How long",
                      "We delete messages, check values and scans {days} days after the participation ends. The "
                      "result holds no personal data."),
        "rights": ("Your rights",
                   "Access, correction, deletion and restriction (Art. 15 to 18 GDPR) and to object (Art. 21 "
                   "GDPR). You may complain to the supervisory authority: {authority}."),
        "more": ("More", "{url}"),
    },
    "tr": {
        "title": ("Veri koruma (GDPR md. 13)", ""),
        "controller": ("Sorumlu", "{controller}."),
        "officer": ("Veri koruma görevlisi", "{officer}."),
        "purpose": ("Amaç ve hukuki dayanak",
                    "\u201c{title}\u201d katılımının yürütülmesi; GDPR md. 6(1)(e) (kamu yararına görev)."),
        "secret": ("Gizli oy", "Oy pusulasındaki kod adınız veya adresinizle birlikte saklanmaz."),
        "address": ("Adresiniz", "Adresinizi yalnızca bu mektubu göndermek için kullanırız. Saklanmaz."),
        "print_shop": ("Alıcılar", "{print_shop}, belgeleri belediye adına basar ve gönderir (GDPR md. 28)."),
        "twilio": ("SMS ve telefon",
                   "SMS ve aramalar Twilio Ireland Ltd. üzerinden geçer; veriler ABD'ye aktarılabilir (güvenceler: "
                   "AB-ABD Veri Gizliliği Çerçevesi ve standart sözleşme maddeleri, GDPR md. 45 ve 46). Telefon "
                   "numaranızı yalnızca takma adlı olarak, gizli anahtarlı bir kontrol değeri şeklinde saklarız."),
        "voice": ("Telefon anonsu", "Twilio telefon anonsunu Amazon Polly ile seslendirir."),
        "retention": ("Saklama süresi",
                      "Mesajları, kontrol değerlerini ve taramaları katılım bittikten {days} gün sonra sileriz. "
                      "Sonuç kişisel veri içermez."),
        "rights": ("Haklarınız",
                   "Bilgi alma, düzeltme, silme ve kısıtlama (GDPR md. 15-18) ve itiraz (GDPR md. 21). Denetim "
                   "makamına şikâyet: {authority}."),
        "more": ("Daha fazlası", "{url}"),
    },
    "ru": {
        "title": ("Защита данных (ст. 13 GDPR)", ""),
        "controller": ("Ответственный", "{controller}."),
        "officer": ("Уполномоченный по защите данных", "{officer}."),
        "purpose": ("Цель и правовое основание",
                    "проведение участия «{title}»; ст. 6(1)(e) GDPR (задача в общественных интересах)."),
        "secret": ("Тайна голосования", "Код на бюллетене не хранится вместе с вашим именем или адресом."),
        "address": ("Ваш адрес", "Мы используем его только для отправки этого письма. Он не хранится."),
        "print_shop": ("Получатели", "{print_shop} печатает и рассылает документы по поручению города "
                       "(ст. 28 GDPR)."),
        "twilio": ("SMS и телефон",
                   "SMS и звонки проходят через Twilio Ireland Ltd.; данные могут передаваться в США (гарантии: "
                   "EU-US Data Privacy Framework и стандартные договорные положения, ст. 45 и 46 GDPR). Номер "
                   "телефона мы храним только в псевдонимизированном виде, как контрольное значение с секретным "
                   "ключом."),
        "voice": ("Голосовое меню", "Голосовое меню озвучивает Twilio с помощью Amazon Polly."),
        "retention": ("Срок хранения",
                      "Сообщения, контрольные значения и сканы удаляются через {days} дней после окончания "
                      "участия. Результат не содержит персональных данных."),
        "rights": ("Ваши права",
                   "информация, исправление, удаление и ограничение (ст. 15-18 GDPR) и возражение (ст. 21 GDPR). "
                   "Жалоба в надзорный орган: {authority}."),
        "more": ("Подробнее", "{url}"),
    },
    "uk": {
        "title": ("Захист даних (ст. 13 GDPR)", ""),
        "controller": ("Відповідальний", "{controller}."),
        "officer": ("Уповноважений із захисту даних", "{officer}."),
        "purpose": ("Мета і правова підстава",
                    "проведення участі «{title}»; ст. 6(1)(e) GDPR (завдання в суспільних інтересах)."),
        "secret": ("Таємниця голосування", "Код на бюлетені не зберігається разом з вашим ім'ям чи адресою."),
        "address": ("Ваша адреса", "Ми використовуємо її лише для надсилання цього листа. Вона не зберігається."),
        "print_shop": ("Отримувачі", "{print_shop} друкує та надсилає документи за дорученням міста "
                       "(ст. 28 GDPR)."),
        "twilio": ("SMS і телефон",
                   "SMS і дзвінки проходять через Twilio Ireland Ltd.; дані можуть передаватися до США (гарантії: "
                   "EU-US Data Privacy Framework і стандартні договірні положення, ст. 45 і 46 GDPR). Номер "
                   "телефону ми зберігаємо лише псевдонімізовано, як контрольне значення із секретним ключем."),
        "voice": ("Голосове меню", "Голосове меню озвучує Twilio за допомогою Amazon Polly."),
        "retention": ("Строк зберігання",
                      "Повідомлення, контрольні значення та скани видаляються через {days} днів після завершення "
                      "участі. Результат не містить персональних даних."),
        "rights": ("Ваші права",
                   "інформація, виправлення, видалення та обмеження (ст. 15-18 GDPR) і заперечення (ст. 21 GDPR). "
                   "Скарга до наглядового органу: {authority}."),
        "more": ("Докладніше", "{url}"),
    },
}


def privacy_title(lang: str) -> str:
    return _PARTS[lang]["title"][0]


def privacy_parts(process: Process, lang: str, *, letter: bool) -> list[tuple[str, str]]:
    """The notice as (heading, sentence) parts in `lang`. `letter` adds what only the
    cover letter can say (the address is used for this letter alone)."""
    parts = _PARTS.get(lang)
    if parts is None:
        raise InvalidInput(f"no data-protection wording for language {lang!r}; available: {', '.join(sorted(_PARTS))}")
    privacy = process.privacy or _placeholder(process)
    keys = ["controller", "officer", "purpose", "secret"]
    if letter:
        keys.append("address")
    keys.append("print_shop")
    if process.channels.sms or process.channels.voice:
        keys.append("twilio")
    if process.channels.voice:
        keys.append("voice")
    keys += ["retention", "rights"]
    if privacy.url:
        keys.append("more")
    values = {"controller": privacy.controller, "officer": privacy.officer, "print_shop": privacy.print_shop,
              "authority": privacy.supervisory_authority, "url": privacy.url or "",
              "title": process.text(process.title, lang), "days": process.retention_days}
    return [(parts[key][0], parts[key][1].format(**values)) for key in keys]


def _placeholder(process: Process) -> Privacy:
    """Test decks (`-test` processes) may print without a `privacy:` section; a live print refuses."""
    marker = "MUSTER" if process.is_test else "—"
    return Privacy(controller=marker, officer=marker, print_shop=marker)


def privacy_paragraph(process: Process, lang: str) -> str:
    """The ballot's run-in form: `Verantwortlich: …. Zweck …: ….`"""
    return " ".join(f"{heading}: {text}" for heading, text in privacy_parts(process, lang, letter=False))
